using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Lifecycle;

public sealed class ModelChangeWatcherTests
{
    [Fact]
    public async Task A_file_copied_in_slowly_is_reported_once_and_only_when_complete()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "fraud.onnx");
        File.WriteAllBytes(path, [0]);
        var seen = new List<long>();
        using var watcher = new ModelChangeWatcher(path, TimeSpan.FromSeconds(3), () =>
        {
            lock (seen) seen.Add(new FileInfo(path).Length);
            return Task.CompletedTask;
        });

        await using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite))
        {
            for (var chunk = 0; chunk < 5; chunk++)
            {
                await stream.WriteAsync(new byte[1000]);
                await stream.FlushAsync();
                // Gaps far below the quiet period, so a busy machine that stretches them can't make the file look settled.
                await Task.Delay(50);
            }
        }

        await Poll.UntilAsync(() => { lock (seen) return seen.Count > 0; }, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(3.5)); // longer than a quiet period: a second report would have come
        lock (seen) Assert.Equal([5000L], seen);
    }

    [Fact]
    public async Task A_new_version_folder_is_reported()
    {
        using var folder = new TemporaryFolder();
        Directory.CreateDirectory(Path.Combine(folder.Path, "1"));
        File.WriteAllBytes(Path.Combine(folder.Path, "1", "model.onnx"), [1]);
        var reports = 0;
        using var watcher = new ModelChangeWatcher(folder.Path, TimeSpan.FromMilliseconds(200), () =>
        {
            Interlocked.Increment(ref reports);
            return Task.CompletedTask;
        });

        Directory.CreateDirectory(Path.Combine(folder.Path, "2"));
        File.WriteAllBytes(Path.Combine(folder.Path, "2", "model.onnx"), [2]);

        await Poll.UntilAsync(() => Volatile.Read(ref reports) > 0, TimeSpan.FromSeconds(10));
        Assert.Equal([2L, 1], VersionFolder.Scan(folder.Path, VersionPolicy.LatestN(2)).Select(v => v.Version));
    }
}
