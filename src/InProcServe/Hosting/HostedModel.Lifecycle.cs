using System.Diagnostics;

namespace InProcServe;

// Versions, hot reload, canaries: which loaded version answers each call, and how versions come and go without
// failing a call. The shadow, which gets copies of calls, is in HostedModel.Shadow.cs.
public abstract partial class HostedModel
{
    /// <summary>One reload, canary or shadow change, or stop at a time; calls never wait on it.</summary>
    private readonly SemaphoreSlim reloadGate = new(1, 1);

    /// <summary>What calls route by; null before the first load and after the model stopped. Read once per call.</summary>
    private volatile VersionRouting? routing;
    private volatile Exception? reloadError;
    private ModelChangeWatcher? watcher;

    /// <summary>Every loaded version, highest first: the primary, the canary and the shadow if any, and the others the version policy keeps ready. Empty before the model is ready.</summary>
    public IReadOnlyList<long> Versions => routing?.Loaded.Select(v => v.Version).ToArray() ?? [];

    /// <summary>The canary's version; null without a canary (<see cref="SetCanaryAsync"/>).</summary>
    public long? CanaryVersion => routing?.Canary?.Version;

    /// <summary>The canary's share of calls, in percent; 0 without a canary.</summary>
    public double CanaryPercent => routing?.Split?.CanaryPercent ?? 0;

    /// <summary>
    /// Why the last reload failed while an older version kept serving; null when the last reload succeeded or none
    /// was tried. The health check reports Degraded while it is set.
    /// </summary>
    public Exception? ReloadError => reloadError;

    /// <summary>
    /// Loads the model's source again and swaps it in: the file or bytes (<see cref="ModelOptions.Path"/>,
    /// <see cref="ModelOptions.ModelBytes"/>) as a new version, or the versions that <see cref="ModelOptions.Versions"/>
    /// picks in <see cref="ModelOptions.Folder"/> now (versions already loaded are kept, not read again). Each new
    /// version is bound to the contract, which checks its signature, and warmed before one atomic swap; calls that
    /// started on a version that leaves finish on it, and it is released once they have. A canary stays while its
    /// version is still loaded, and so does a shadow, unless its version becomes the primary; copies to a shadow that
    /// leaves finish first. A model that isn't serving, because its load failed (an optional model whose file was
    /// missing or corrupt) or it was never loaded, is loaded as at start-up, with the canary its options name: once its
    /// source is fixed, this revives it, and it serves and reports Healthy.
    /// </summary>
    /// <param name="cancellationToken">Cancels loading and warming; the serving version is left as it was.</param>
    /// <returns>A task that completes once the new versions serve and the versions that left are released.</returns>
    /// <exception cref="InvalidOperationException">
    /// A new version failed to load or doesn't fit the contract: the versions that served before go on serving,
    /// <see cref="ReloadError"/> holds the cause and the health check reports Degraded. Or the model wasn't serving and
    /// this load failed too: it stays <see cref="ModelState.Failed"/>, with the new cause in <see cref="LoadError"/>.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The model stopped with its host.</exception>
    public async Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        if (State != ModelState.Ready)
        {
            Load(cancellationToken, retry: true);
            return;
        }

        await reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = routing ?? throw Stopped();
            var clock = Stopwatch.StartNew();
            var options = Host.Options.Get(Name);
            var fresh = new List<ServingVersion>();
            VersionRouting next;
            try
            {
                var kept = new List<ServingVersion>();
                foreach (var source in Sources(options))
                {
                    // A version folder's versions are immutable, as in Triton: one already loaded is not read again.
                    if (source.Version is { } number && current.Find(number) is { } loaded) kept.Add(loaded);
                    else fresh.Add(LoadVersion(source, options, cancellationToken));
                }

                next = VersionRouting.Of([.. fresh, .. kept]);
                if (current.Canary is { } canary && next.Loaded.Contains(canary) && canary != next.Primary)
                {
                    next = next with { Canary = canary, Split = current.Split };
                }

                if (current.Shadow is { } shadow && next.Loaded.Contains(shadow.Version) && shadow.Version != next.Primary)
                {
                    next = next with { Shadow = shadow };
                }
            }
            catch (Exception error)
            {
                foreach (var version in fresh) await version.RetireAsync(stopQueue: true).ConfigureAwait(false);
                reloadError = error;
                Host.Metrics.ModelReloads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "error"));
                Host.Metrics.ModelLoads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "error"));
                Log.ModelReloadFailed(Host.Logger, Name, current.Primary.Version, error);
                Remember(ModelEventKind.ReloadFailed, current.Primary.Version, error.Message);
                throw new InvalidOperationException($"Model '{Name}': the new version failed to load, so version {current.Primary.Version} goes on serving: {error.Message}", error);
            }

            await SwapAsync(current, next).ConfigureAwait(false);
            Remember(ModelEventKind.Reloaded, next.Primary.Version, $"versions {string.Join(", ", next.Loaded.Select(v => v.Version))} loaded; version {next.Primary.Version} is the primary, after {current.Primary.Version}");
            if (current.Shadow is { } ended && next.Shadow is null)
            {
                Log.ShadowEnded(Host.Logger, Name, ended.Version.Version, next.Primary.Version);
                Remember(ModelEventKind.ShadowStopped, next.Primary.Version, $"shadow version {ended.Version.Version} left with the reload");
            }

            reloadError = null;
            Host.Metrics.ModelReloads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "ok"));
            Log.ModelReloaded(Host.Logger, Name, current.Primary.Version, next.Primary.Version, clock.Elapsed.TotalMilliseconds);
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>
    /// Sends <paramref name="percent"/> of calls to version <paramref name="version"/>, the canary; the primary answers
    /// the rest. A call with a routing key (<c>RouteCanaryBy</c> on the builder) goes the same way every time. The
    /// version may be loaded already (<see cref="VersionPolicy.LatestN"/>) or is loaded now from
    /// <see cref="ModelOptions.Folder"/>; a canary already set is replaced, and released once its calls finish.
    /// Calling again with the same version changes its share.
    /// </summary>
    /// <param name="version">The canary's version number.</param>
    /// <param name="percent">Its share of calls, from 0 to 100.</param>
    /// <param name="cancellationToken">Cancels loading the version.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is not from 0 to 100.</exception>
    /// <exception cref="ArgumentException"><paramref name="version"/> is the primary, or the shadow (<see cref="SetShadowAsync"/>).</exception>
    /// <exception cref="InvalidOperationException">The version is not loaded and the model has no version folder that holds it, or it failed to load.</exception>
    public async Task SetCanaryAsync(long version, double percent, CancellationToken cancellationToken = default)
    {
        var split = new TrafficSplit(percent);
        EnsureLoaded();
        await reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = routing ?? throw Stopped();
            if (current.Primary.Version == version)
            {
                throw new ArgumentException($"Model '{Name}': version {version} is the primary; a canary is another version. Loaded: {string.Join(", ", current.Loaded.Select(v => v.Version))}.", nameof(version));
            }

            if (current.Shadow?.Version.Version == version)
            {
                throw new ArgumentException($"Model '{Name}': version {version} is the shadow, which gets copies of calls; stop the shadow (StopShadowAsync) before it takes calls as the canary.", nameof(version));
            }

            var canary = FindOrLoad(current, version, "send canary traffic to", cancellationToken, out var loadedNow);
            var loaded = current.Loaded.Where(v => v == canary || v != current.Canary).ToList();
            if (loadedNow) loaded.Add(canary);
            await SwapAsync(current, VersionRouting.Of(loaded) with { Primary = current.Primary, Canary = canary, Split = split, Shadow = current.Shadow }).ConfigureAwait(false);
            Log.CanarySet(Host.Logger, Name, version, percent, current.Primary.Version);
            Remember(ModelEventKind.CanarySet, current.Primary.Version, $"version {version} takes {percent}% of calls");
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>Makes the canary the primary: it answers every call, and the old primary is drained and released.</summary>
    /// <returns>A task that completes once the old primary is released.</returns>
    /// <exception cref="InvalidOperationException">The model has no canary.</exception>
    public Task PromoteCanaryAsync() => EndCanaryAsync(promote: true);

    /// <summary>Drops the canary: the primary answers every call again, and the canary is drained and released.</summary>
    /// <returns>A task that completes once the canary is released.</returns>
    /// <exception cref="InvalidOperationException">The model has no canary.</exception>
    public Task RollBackCanaryAsync() => EndCanaryAsync(promote: false);

    /// <summary>Takes a lease on the version that answers a call, with the call's routing key computed only when a canary needs it.</summary>
    /// <exception cref="ObjectDisposedException">The model stopped with its host.</exception>
    private protected ServingVersion Lease<TState>(Func<TState, string?>? key, TState state)
    {
        while (true)
        {
            var current = routing ?? throw (State == ModelState.Ready ? Stopped() : NotReady());
            var version = current.Canary is null ? current.Primary : current.Pick(key?.Invoke(state));

            // A version retired between the read and the lease has left the routing: the next read finds its successor.
            if (version.TryAcquire()) return version;
        }
    }

    /// <summary>The routing calls see now.</summary>
    /// <exception cref="InvalidOperationException">The model is not ready.</exception>
    private VersionRouting Routing => routing ?? throw NotReady();

    /// <summary>Every loaded version, for the queue figures.</summary>
    private protected IReadOnlyList<ServingVersion> LoadedVersions => routing?.Loaded ?? [];

    /// <summary>Every loaded version but the shadow, which gets no calls: for the queue length.</summary>
    private protected IEnumerable<ServingVersion> CalledVersions => routing is { } current ? current.Loaded.Where(v => v != current.Shadow?.Version) : [];

    private async Task EndCanaryAsync(bool promote)
    {
        EnsureLoaded();
        await reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = routing ?? throw Stopped();
            var canary = current.Canary ?? throw new InvalidOperationException($"Model '{Name}' has no canary to {(promote ? "promote" : "roll back")}: set one with SetCanaryAsync(version, percent).");
            var leaving = promote ? current.Primary : canary;
            var next = new VersionRouting(promote ? canary : current.Primary, null, null, current.Loaded.Where(v => v != leaving).ToArray(), current.Shadow);
            await SwapAsync(current, next).ConfigureAwait(false);
            if (promote)
            {
                Log.CanaryPromoted(Host.Logger, Name, canary.Version, leaving.Version);
                Remember(ModelEventKind.CanaryPromoted, canary.Version, $"canary version {canary.Version} promoted; version {leaving.Version} released");
            }
            else
            {
                Log.CanaryRolledBack(Host.Logger, Name, canary.Version, current.Primary.Version);
                Remember(ModelEventKind.CanaryRolledBack, current.Primary.Version, $"canary version {canary.Version} rolled back");
            }

        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>
    /// Publishes <paramref name="next"/>, then retires the versions it dropped once their calls finish, and waits for
    /// the copies in flight of a shadow setting it dropped.
    /// </summary>
    private async Task SwapAsync(VersionRouting current, VersionRouting next)
    {
        Publish(next);
        var copies = current.Shadow is { } shadow && shadow != next.Shadow ? shadow.StopAsync() : Task.CompletedTask;
        await Task.WhenAll(current.Leaving(next).Select(v => v.RetireAsync(stopQueue: false)).Append(copies)).ConfigureAwait(false);
    }

    private void Publish(VersionRouting next)
    {
        VersionTag = next.Primary.Tag;
        routing = next;
    }

    /// <summary>The sources to load now: the file, the bytes, or the versions the policy picks in the folder, highest first.</summary>
    private IReadOnlyList<VersionSource> Sources(ModelOptions options)
    {
        if (options.Path is { } path) return [new VersionSource(null, path)];
        if (options.Folder is not { } folder) return [new VersionSource(null, null)];
        var found = VersionFolder.Scan(folder, options.Versions);
        return found.Count > 0
            ? found.Select(f => new VersionSource(f.Version, f.Path)).ToArray()
            : throw new InvalidOperationException($"the folder '{Path.GetFullPath(folder)}' holds no version that the policy '{options.Versions}' picks: add a numbered folder with the model, such as 1/{VersionFolder.ModelFileName}.");
    }

    /// <summary>
    /// The version numbered <paramref name="version"/>: a loaded one, or one loaded now from the model's folder
    /// (<paramref name="loadedNow"/>), not published yet.
    /// </summary>
    /// <param name="current">The routing calls see now.</param>
    /// <param name="version">The version's number.</param>
    /// <param name="purpose">What it is wanted for, in the error: "send canary traffic to".</param>
    /// <param name="cancellationToken">Cancels loading it.</param>
    /// <param name="loadedNow">Whether it was loaded now.</param>
    /// <exception cref="InvalidOperationException">The version is not loaded and the model has no version folder that holds it, or it failed to load.</exception>
    private ServingVersion FindOrLoad(VersionRouting current, long version, string purpose, CancellationToken cancellationToken, out bool loadedNow)
    {
        loadedNow = false;
        if (current.Find(version) is { } loaded) return loaded;
        var options = Host.Options.Get(Name);
        var found = options.Folder is { } folder ? VersionFolder.Scan(folder, VersionPolicy.Specific(version)) : [];
        if (found.Count == 0)
        {
            throw new InvalidOperationException(
                $"Model '{Name}' has no version {version} to {purpose}: loaded are {string.Join(", ", current.Loaded.Select(v => v.Version))}" +
                (options.Folder is { } f ? $", and '{Path.GetFullPath(f)}' holds no {version}/{VersionFolder.ModelFileName}." : "; the model has no version folder (ModelOptions.Folder) to load it from."));
        }

        loadedNow = true;
        return LoadVersion(new VersionSource(version, found[0].Path), options, cancellationToken);
    }

    /// <summary>Loads, binds and warms one version; logs and counts it. Nothing is published.</summary>
    private ServingVersion LoadVersion(VersionSource source, ModelOptions options, CancellationToken cancellationToken)
    {
        if (options.Remote is { } remote)
        {
            var started = StartRemoteVersion(remote, lane!, options, cancellationToken);
            Host.Metrics.ModelLoads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "ok"));
            return started;
        }

        var clock = Stopwatch.StartNew();
        var sessionOptions = options.Session.Clone();
        sessionOptions.Name = Name;
        var session = source.Path is { } path
            ? ModelSession.Load(path, sessionOptions)
            : ModelSession.Load(options.ModelBytes!(Host.Services).Span, sessionOptions);
        try
        {
            var number = source.Version ?? session.Metadata.Version;
            Log.ModelLoaded(Host.Logger, Name, source.Path ?? "bytes", number, session.ExecutionProvider.ToString(), lane!.Name, clock.Elapsed.TotalMilliseconds);
            var warmUp = Stopwatch.StartNew();
            var version = StartVersion(number, session, lane, options, cancellationToken, out var sizes);
            Log.ModelWarmedUp(Host.Logger, Name, sizes, warmUp.Elapsed.TotalMilliseconds);
            Host.Metrics.ModelLoads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "ok"));
            return version;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The routing of the versions loaded at start-up, with the canary <see cref="ModelOptions.Canary"/> names, if any.
    /// Validation checked the version against the folder; this catches a folder that changed since.
    /// </summary>
    /// <exception cref="InvalidOperationException">The canary's version is not loaded, or is the primary.</exception>
    private static VersionRouting WithStartCanary(VersionRouting loaded, ModelOptions options)
    {
        if (options.Canary.Version is not { } version) return loaded;
        var canary = loaded.Find(version);
        if (canary is null || canary == loaded.Primary)
        {
            throw new InvalidOperationException(
                $"its canary (Canary.Version) is version {version}, but the policy '{options.Versions}' loaded {string.Join(", ", loaded.Loaded.Select(v => v.Version))}, with {loaded.Primary.Version} as the primary: " +
                "set a version the policy loads below the primary, or a policy (Versions) that loads it as well.");
        }

        return loaded with { Canary = canary, Split = new TrafficSplit(options.Canary.Percent!.Value) };
    }

    /// <summary>
    /// Starts the watch the options ask for, once. A watch that can't start (its folder is missing, the system's
    /// watches are used up) is logged and leaves the model as it is: <see cref="ReloadAsync"/> still reloads it.
    /// </summary>
    private void StartWatching(ModelOptions options)
    {
        if (!options.WatchForChanges || watcher is not null) return;
        var watched = options.Path ?? options.Folder!;
        try
        {
            // The file's folder, or the version folder itself: a missing version folder would be watched as a file.
            var folder = options.Path is { } file ? Path.GetDirectoryName(Path.GetFullPath(file))! : options.Folder!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"the folder '{Path.GetFullPath(folder)}' does not exist.");
            watcher = new ModelChangeWatcher(watched, options.WatchQuietPeriod, async () =>
            {
                try
                {
                    await ReloadAsync().ConfigureAwait(false);
                }
                catch (InvalidOperationException)
                {
                    // ReloadAsync logged and counted a failed load, and the old version serves (the health check says
                    // why); or a failed model failed again (its health check says why); or the host stopped while the
                    // change settled.
                }
            });
        }
        catch (Exception error) when (error is IOException or ArgumentException or UnauthorizedAccessException)
        {
            Log.WatchNotStarted(Host.Logger, Name, watched, error);
        }
    }

    private void StopWatching() => watcher?.Dispose();

    private ObjectDisposedException Stopped() => new(Name, $"Model '{Name}' was stopped with its host; it serves no more calls.");

    /// <summary>Where one version comes from: a file (with its folder's version number, if any) or, with no path, the model's bytes.</summary>
    private readonly record struct VersionSource(long? Version, string? Path);
}
