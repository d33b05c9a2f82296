namespace InProcServe;

/// <summary>
/// Watches a model file, or a version folder, and calls back once changes have settled: the watched files' sizes
/// and write times must hold still over a whole quiet period, so a file that is still being copied in is never
/// loaded half-written, and a burst of events makes one callback. Callbacks never overlap.
/// </summary>
internal sealed class ModelChangeWatcher : IDisposable
{
    private readonly FileSystemWatcher watcher;
    private readonly Timer timer;
    private readonly TimeSpan quiet;
    private readonly Func<Task> changed;
    private readonly Lock gate = new();
    private readonly string root;
    private readonly string? file;
    private (long Length, DateTime Written)[] lastSnapshot = [];
    private bool running;
    private bool again;
    private bool disposed;

    /// <param name="path">A model file, or a folder with numbered version sub-folders.</param>
    /// <param name="quiet">How long no change must happen before <paramref name="changed"/> is called.</param>
    /// <param name="changed">Called on a thread-pool thread; a failure is its own to log.</param>
    internal ModelChangeWatcher(string path, TimeSpan quiet, Func<Task> changed)
    {
        this.quiet = quiet;
        this.changed = changed;
        var isFolder = Directory.Exists(path);
        root = isFolder ? Path.GetFullPath(path) : Path.GetDirectoryName(Path.GetFullPath(path))!;
        file = isFolder ? null : Path.GetFileName(path);
        timer = new Timer(static self => ((ModelChangeWatcher)self!).Settle(), this, Timeout.Infinite, Timeout.Infinite);
        watcher = new FileSystemWatcher(root)
        {
            IncludeSubdirectories = isFolder,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        if (file is not null) watcher.Filter = file;
        watcher.Changed += OnEvent;
        watcher.Created += OnEvent;
        watcher.Deleted += OnEvent;
        watcher.Renamed += OnEvent;
        lastSnapshot = Snapshot();
        watcher.EnableRaisingEvents = true;
    }

    public void Dispose()
    {
        lock (gate) disposed = true;
        watcher.Dispose();
        timer.Dispose();
    }

    private void OnEvent(object sender, FileSystemEventArgs e) => Arm();

    private void Arm()
    {
        lock (gate)
        {
            if (!disposed) timer.Change(quiet, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// The quiet period passed. Report the change only when the files look as they did a quiet period ago; a file
    /// still being written differs between the two looks, so the watch waits another period.
    /// </summary>
    private void Settle()
    {
        var snapshot = Snapshot();
        lock (gate)
        {
            if (disposed) return;
            var settled = snapshot.SequenceEqual(lastSnapshot);
            lastSnapshot = snapshot;
            if (!settled)
            {
                timer.Change(quiet, Timeout.InfiniteTimeSpan);
                return;
            }

            if (running)
            {
                again = true;
                return;
            }

            running = true;
        }

        _ = Report();
    }

    private async Task Report()
    {
        while (true)
        {
            try
            {
                await changed().ConfigureAwait(false);
            }
            catch
            {
                // The callback logs its own failures; the watch goes on.
            }

            lock (gate)
            {
                if (!again || disposed)
                {
                    running = false;
                    return;
                }

                again = false;
            }
        }
    }

    private (long Length, DateTime Written)[] Snapshot()
    {
        try
        {
            IEnumerable<string> files = file is null
                ? Directory.EnumerateFiles(root, VersionFolder.ModelFileName, SearchOption.AllDirectories).Order()
                : [Path.Combine(root, file)];
            return files.Select(f => new FileInfo(f)).Select(f => f.Exists ? (f.Length, f.LastWriteTimeUtc) : (-1L, DateTime.MinValue)).ToArray();
        }
        catch (IOException)
        {
            return [(-1, DateTime.MinValue)];
        }
    }
}
