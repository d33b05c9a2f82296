using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace InProcServe;

/// <summary>
/// The versions of one model and their life: the first load, reloads, the watch on the model's files, the canary, the
/// shadow, the leases calls take, and the model's history. Calls read the routing once, in one volatile read, and
/// never wait on a change: changes are made one at a time behind a gate, build a new <see cref="VersionRouting"/>,
/// publish it in one write, then retire the versions that left once the calls on them finished.
/// </summary>
internal sealed class ModelVersions(IVersionHost host)
{
    /// <summary>How many events <see cref="History"/> keeps: enough to see what led to now, bounded for a model reloaded every minute for months.</summary>
    internal const int HistoryCapacity = 50;

    private readonly Lock loadGate = new();

    /// <summary>One reload, canary or shadow change, or stop at a time; calls never wait on it.</summary>
    private readonly SemaphoreSlim reloadGate = new(1, 1);
    private readonly Queue<ModelEvent> history = new();
    private readonly Lock historyGate = new();

    /// <summary>What calls route by; null before the first load and after the model stopped. Read once per call.</summary>
    private volatile VersionRouting? routing;
    private volatile Exception? reloadError;
    private volatile int state;
    private ModelChangeWatcher? watcher;

    /// <summary>Whether <see cref="IVersionHost.Prepare"/> succeeded: a load tried again after a failure keeps what it prepared.</summary>
    private bool prepared;

    /// <summary>Set when the model stops with its host (under <see cref="loadGate"/>): no load may publish versions after it.</summary>
    private bool stopped;

    internal ModelState State => (ModelState)state;

    /// <summary>Why the load failed; null unless <see cref="State"/> is <see cref="ModelState.Failed"/>.</summary>
    internal Exception? LoadError { get; private set; }

    /// <summary>Why the last reload failed while an older version kept serving; null when it succeeded or none was tried.</summary>
    internal Exception? ReloadError => reloadError;

    /// <summary>The routing calls see now; null before the model is ready and after it stopped.</summary>
    internal VersionRouting? Current => routing;

    /// <summary>The routing calls see now.</summary>
    /// <exception cref="InvalidOperationException">The model is not ready.</exception>
    internal VersionRouting Routing => routing ?? throw NotReady();

    /// <summary>The primary version's tag: for the queue gauge, and for calls that fail before a version took them.</summary>
    internal KeyValuePair<string, object?> PrimaryTag { get; private set; } = new(InProcServeMetrics.VersionTag, null);

    /// <summary>The model's latest events (at most <see cref="HistoryCapacity"/>), oldest first.</summary>
    internal IReadOnlyList<ModelEvent> History
    {
        get
        {
            lock (historyGate) return [.. history];
        }
    }

    /// <summary>
    /// Loads, binds and warms the model once, with the canary and the shadow its options name; later calls return at
    /// once, or throw again if it failed, unless <paramref name="retry"/> asks to try a failed load again (a reload).
    /// Starts the watch the options ask for after the first try, whether it succeeded or not, so that fixing a file
    /// revives the model.
    /// </summary>
    /// <exception cref="InvalidOperationException">The load failed; the message names the model and the cause.</exception>
    /// <exception cref="ObjectDisposedException">The model stopped with its host.</exception>
    internal void Load(CancellationToken cancellationToken, bool retry = false)
    {
        lock (loadGate)
        {
            if (State == ModelState.Ready) return;
            if (stopped) throw Stopped();
            if (State == ModelState.Failed && !retry) throw LoadFailed();
            var loaded = new List<ServingVersion>();
            VersionPlan? plan = null;
            try
            {
                plan = host.Plan();
                if (!prepared)
                {
                    host.Prepare();
                    prepared = true;
                }

                foreach (var source in host.Sources()) loaded.Add(host.Start(source, cancellationToken));
                var first = WithStartShadow(WithStartCanary(VersionRouting.Of(loaded), plan), plan);
                Publish(first);
                LoadError = null;
                state = (int)ModelState.Ready;
                host.Serving();
                Remember(ModelEventKind.Loaded, first.Primary.Version, $"versions {Numbers(first)} loaded; version {first.Primary.Version} is the primary");
                if (first.Canary is { } canary)
                {
                    Log.CanarySet(host.Logger, host.Name, canary.Version, first.Split!.CanaryPercent, first.Primary.Version);
                    Remember(ModelEventKind.CanarySet, first.Primary.Version, $"version {canary.Version} takes {first.Split.CanaryPercent}% of calls");
                }

                if (first.Shadow is { } shadow)
                {
                    Log.ShadowSet(host.Logger, host.Name, shadow.Version.Version, shadow.Percent, first.Primary.Version);
                    Remember(ModelEventKind.ShadowSet, first.Primary.Version, $"version {shadow.Version.Version} gets a copy of {shadow.Percent}% of calls");
                }
            }
            catch (Exception error)
            {
                foreach (var version in loaded) version.RetireAsync(stopQueue: true).GetAwaiter().GetResult();
                LoadError = error;
                state = (int)ModelState.Failed;
                Remember(ModelEventKind.LoadFailed, null, error.Message);
                host.Metrics.ModelLoads.Add(1, host.ModelTag, new(InProcServeMetrics.ResultTag, "error"));
                throw LoadFailed();
            }
            finally
            {
                if (plan?.Watch is { } watch) StartWatching(watch);
            }
        }
    }

    /// <summary>Loads the model on a call that comes before the host started it, or throws why it can't serve.</summary>
    internal void EnsureLoaded()
    {
        if (State != ModelState.Ready) Load(CancellationToken.None);
    }

    /// <summary>
    /// Loads the model's sources again and swaps them in; see <see cref="HostedModel.ReloadAsync"/>. A model that
    /// isn't serving is loaded as at start-up.
    /// </summary>
    internal async Task ReloadAsync(CancellationToken cancellationToken)
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
            var fresh = new List<ServingVersion>();
            VersionRouting next;
            try
            {
                host.Plan();
                var kept = new List<ServingVersion>();
                foreach (var source in host.Sources())
                {
                    // A version folder's versions are immutable, as in Triton: one already loaded is not read again.
                    if (source.Version is { } number && current.Find(number) is { } loaded) kept.Add(loaded);
                    else fresh.Add(host.Start(source, cancellationToken));
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
                host.Metrics.ModelReloads.Add(1, host.ModelTag, new(InProcServeMetrics.ResultTag, "error"));
                host.Metrics.ModelLoads.Add(1, host.ModelTag, new(InProcServeMetrics.ResultTag, "error"));
                Log.ModelReloadFailed(host.Logger, host.Name, current.Primary.Version, error);
                Remember(ModelEventKind.ReloadFailed, current.Primary.Version, error.Message);
                throw new InvalidOperationException($"Model '{host.Name}': the new version failed to load, so version {current.Primary.Version} goes on serving: {error.Message}", error);
            }

            await SwapAsync(current, next).ConfigureAwait(false);
            Remember(ModelEventKind.Reloaded, next.Primary.Version, $"versions {Numbers(next)} loaded; version {next.Primary.Version} is the primary, after {current.Primary.Version}");
            if (current.Shadow is { } ended && next.Shadow is null)
            {
                Log.ShadowEnded(host.Logger, host.Name, ended.Version.Version, next.Primary.Version);
                Remember(ModelEventKind.ShadowStopped, next.Primary.Version, $"shadow version {ended.Version.Version} left with the reload");
            }

            reloadError = null;
            host.Metrics.ModelReloads.Add(1, host.ModelTag, new(InProcServeMetrics.ResultTag, "ok"));
            Log.ModelReloaded(host.Logger, host.Name, current.Primary.Version, next.Primary.Version, clock.Elapsed.TotalMilliseconds);
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>Sends <paramref name="percent"/> of calls to version <paramref name="version"/>; see <see cref="HostedModel.SetCanaryAsync"/>.</summary>
    internal async Task SetCanaryAsync(long version, double percent, CancellationToken cancellationToken)
    {
        var split = new TrafficSplit(percent);
        EnsureLoaded();
        await reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = routing ?? throw Stopped();
            if (current.Primary.Version == version)
            {
                throw new ArgumentException($"Model '{host.Name}': version {version} is the primary; a canary is another version. Loaded: {Numbers(current)}.", nameof(version));
            }

            if (current.Shadow?.Version.Version == version)
            {
                throw new ArgumentException($"Model '{host.Name}': version {version} is the shadow, which gets copies of calls; stop the shadow (StopShadowAsync) before it takes calls as the canary.", nameof(version));
            }

            var canary = FindOrLoad(current, version, "send canary traffic to", cancellationToken, out var loadedNow);
            var loaded = current.Loaded.Where(v => v == canary || v != current.Canary).ToList();
            if (loadedNow) loaded.Add(canary);
            await SwapAsync(current, VersionRouting.Of(loaded) with { Primary = current.Primary, Canary = canary, Split = split, Shadow = current.Shadow }).ConfigureAwait(false);
            Log.CanarySet(host.Logger, host.Name, version, percent, current.Primary.Version);
            Remember(ModelEventKind.CanarySet, current.Primary.Version, $"version {version} takes {percent}% of calls");
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>Promotes the canary to primary (<paramref name="promote"/>) or drops it; the version that leaves is drained and released.</summary>
    internal async Task EndCanaryAsync(bool promote)
    {
        EnsureLoaded();
        await reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = routing ?? throw Stopped();
            var canary = current.Canary ?? throw new InvalidOperationException($"Model '{host.Name}' has no canary to {(promote ? "promote" : "roll back")}: set one with SetCanaryAsync(version, percent).");
            var leaving = promote ? current.Primary : canary;
            var next = new VersionRouting(promote ? canary : current.Primary, null, null, current.Loaded.Where(v => v != leaving).ToArray(), current.Shadow);
            await SwapAsync(current, next).ConfigureAwait(false);
            if (promote)
            {
                Log.CanaryPromoted(host.Logger, host.Name, canary.Version, leaving.Version);
                Remember(ModelEventKind.CanaryPromoted, canary.Version, $"canary version {canary.Version} promoted; version {leaving.Version} released");
            }
            else
            {
                Log.CanaryRolledBack(host.Logger, host.Name, canary.Version, current.Primary.Version);
                Remember(ModelEventKind.CanaryRolledBack, current.Primary.Version, $"canary version {canary.Version} rolled back");
            }
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>Copies <paramref name="percent"/> of calls to version <paramref name="version"/>; see <see cref="HostedModel.SetShadowAsync"/>.</summary>
    internal async Task SetShadowAsync(long version, double percent, CancellationToken cancellationToken)
    {
        if (percent is not (>= 0 and <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "The shadow's share is a percentage from 0 to 100.");
        EnsureLoaded();
        await reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = routing ?? throw Stopped();
            var answering = current.Primary.Version == version ? "primary" : current.Canary?.Version == version ? "canary" : null;
            if (answering is not null)
            {
                throw new ArgumentException($"Model '{host.Name}': version {version} is the {answering}, which answers calls; a shadow is another version, which gets copies of them. Loaded: {Numbers(current)}.", nameof(version));
            }

            var shadow = FindOrLoad(current, version, "send shadow copies to", cancellationToken, out var loadedNow);
            var loaded = current.Loaded.Where(v => v == shadow || v != current.Shadow?.Version).ToList();
            if (loadedNow) loaded.Add(shadow);
            await SwapAsync(current, current with { Loaded = [.. loaded.OrderByDescending(v => v.Version)], Shadow = new ShadowTraffic(shadow, percent) }).ConfigureAwait(false);
            Log.ShadowSet(host.Logger, host.Name, version, percent, current.Primary.Version);
            Remember(ModelEventKind.ShadowSet, current.Primary.Version, $"version {version} gets a copy of {percent}% of calls");
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>Stops copying calls to the shadow; see <see cref="HostedModel.StopShadowAsync"/>.</summary>
    internal async Task StopShadowAsync()
    {
        await reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (routing is not { Shadow: { } shadow } current) return;
            await SwapAsync(current, current with { Loaded = [.. current.Loaded.Where(v => v != shadow.Version)], Shadow = null }).ConfigureAwait(false);
            Log.ShadowStopped(host.Logger, host.Name, shadow.Version.Version);
            Remember(ModelEventKind.ShadowStopped, current.Primary.Version, $"shadow version {shadow.Version.Version} stopped");
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>
    /// Takes a lease on the version that answers a call: <paramref name="pinned"/> when the caller names one, else the
    /// canary or the primary, with the call's routing key computed only when a canary needs it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The model stopped with its host.</exception>
    /// <exception cref="InvalidOperationException">The model is not ready.</exception>
    /// <exception cref="KeyNotFoundException"><paramref name="pinned"/> is not loaded.</exception>
    internal ServingVersion Lease<TState>(Func<TState, string?>? key, TState state, long? pinned = null)
    {
        while (true)
        {
            var current = routing ?? throw (State == ModelState.Ready ? Stopped() : NotReady());
            var version = pinned is { } number
                ? current.Find(number) ?? throw new KeyNotFoundException($"Model '{host.Name}' has no version {number}. Versions served: {Numbers(current)}.")
                : current.Canary is null ? current.Primary : current.Pick(key?.Invoke(state));

            // A version retired between the read and the lease has left the routing: the next read finds its successor.
            if (version.TryAcquire()) return version;
        }
    }

    /// <summary>
    /// The shadow that gets a copy of the call just answered, with a place taken for the copy and a lease on its
    /// version; null when there is no shadow, the call isn't picked, or the copy is dropped (and counted).
    /// </summary>
    internal ShadowTraffic? StartShadowCopy()
    {
        if (routing?.Shadow is not { } shadow || !shadow.Sample()) return null;
        if (shadow.TryStart(out var full)) return shadow;
        if (full) RecordShadow(shadow, "dropped");
        return null;
    }

    /// <summary>Counts one copy sent to <paramref name="shadow"/>, by <paramref name="outcome"/>: ok, error or dropped.</summary>
    internal void RecordShadow(ShadowTraffic shadow, string outcome) =>
        host.Metrics.ShadowRequests.Add(1, host.ModelTag, shadow.Version.Tag, new(InProcServeMetrics.OutcomeTag, outcome));

    /// <summary>
    /// Stops the model: queued calls fail, running calls finish, then every version is released. Copies queued for a
    /// shadow are dropped, and those running finish (their comparison included) before this completes.
    /// </summary>
    internal async ValueTask DisposeAsync()
    {
        // A load in progress (a revival the watch started) finishes first and is retired below; none starts after.
        lock (loadGate) stopped = true;
        watcher?.Dispose();
        await reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (routing is { } last)
            {
                routing = null;
                var copies = last.Shadow?.StopAsync() ?? Task.CompletedTask;
                await Task.WhenAll(last.Loaded.Select(v => v.RetireAsync(stopQueue: true)).Append(copies)).ConfigureAwait(false);
            }
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <exception cref="InvalidOperationException">Why the model doesn't serve.</exception>
    internal InvalidOperationException NotReady() => State == ModelState.Failed
        ? LoadFailed()
        : new InvalidOperationException($"Model '{host.Name}' is not loaded yet: it loads when the host starts (ModelWarmUpService) or on its first call.");

    internal ObjectDisposedException Stopped() => new(host.Name, $"Model '{host.Name}' was stopped with its host; it serves no more calls.");

    /// <summary>Adds an event, dropping the oldest beyond <see cref="HistoryCapacity"/>.</summary>
    private void Remember(ModelEventKind kind, long? version, string detail)
    {
        var entry = new ModelEvent(DateTimeOffset.UtcNow, kind, version, detail);
        lock (historyGate)
        {
            if (history.Count == HistoryCapacity) history.Dequeue();
            history.Enqueue(entry);
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
        PrimaryTag = next.Primary.Tag;
        routing = next;
    }

    /// <summary>
    /// The version numbered <paramref name="version"/>: a loaded one, or one loaded now from the model's folder
    /// (<paramref name="loadedNow"/>), not published yet.
    /// </summary>
    /// <exception cref="InvalidOperationException">The version is not loaded and the model's folder doesn't hold it, or it failed to load.</exception>
    private ServingVersion FindOrLoad(VersionRouting current, long version, string purpose, CancellationToken cancellationToken, out bool loadedNow)
    {
        loadedNow = false;
        if (current.Find(version) is { } loaded) return loaded;
        var source = host.FindInFolder(version, out var whereLooked)
            ?? throw new InvalidOperationException($"Model '{host.Name}' has no version {version} to {purpose}: loaded are {Numbers(current)}{whereLooked}");
        loadedNow = true;
        return host.Start(source, cancellationToken);
    }

    /// <summary>
    /// The routing of the versions loaded at start-up, with the canary the options name, if any. Validation checked
    /// the version against the folder; this catches a folder that changed since.
    /// </summary>
    /// <exception cref="InvalidOperationException">The canary's version is not loaded, or is the primary.</exception>
    private static VersionRouting WithStartCanary(VersionRouting loaded, VersionPlan plan)
    {
        if (plan.Canary is not { } setting) return loaded;
        var canary = loaded.Find(setting.Version);
        if (canary is null || canary == loaded.Primary)
        {
            throw new InvalidOperationException(
                $"its canary (Canary.Version) is version {setting.Version}, but the policy '{plan.Policy}' loaded {Numbers(loaded)}, with {loaded.Primary.Version} as the primary: " +
                "set a version the policy loads below the primary, or a policy (Versions) that loads it as well.");
        }

        return loaded with { Canary = canary, Split = new TrafficSplit(setting.Percent) };
    }

    /// <summary>The routing of the versions loaded at start-up with the shadow the options name, if any.</summary>
    /// <exception cref="InvalidOperationException">The shadow's version is not loaded, or answers calls (the primary, the canary).</exception>
    private static VersionRouting WithStartShadow(VersionRouting loaded, VersionPlan plan)
    {
        if (plan.Shadow is not { } setting) return loaded;
        var shadow = loaded.Find(setting.Version);
        if (shadow is null || shadow == loaded.Primary || shadow == loaded.Canary)
        {
            throw new InvalidOperationException(
                $"its shadow (Shadow.Version) is version {setting.Version}, but the policy '{plan.Policy}' loaded {Numbers(loaded)}, with {loaded.Primary.Version} as the primary" +
                (loaded.Canary is { } canary ? $" and {canary.Version} as the canary" : "") +
                ": set a version the policy loads below the primary, other than the canary, or a policy (Versions) that loads it as well.");
        }

        return loaded with { Shadow = new ShadowTraffic(shadow, setting.Percent) };
    }

    private static string Numbers(VersionRouting routing) => string.Join(", ", routing.Loaded.Select(v => v.Version));

    /// <summary>
    /// Starts the watch the options ask for, once. A watch that can't start (its folder is missing, the system's
    /// watches are used up) is logged and leaves the model as it is: a reload still reloads it.
    /// </summary>
    private void StartWatching(WatchSetting watch)
    {
        if (watcher is not null) return;
        try
        {
            if (!Directory.Exists(watch.Folder)) throw new DirectoryNotFoundException($"the folder '{Path.GetFullPath(watch.Folder)}' does not exist.");
            watcher = new ModelChangeWatcher(watch.Watched, watch.QuietPeriod, async () =>
            {
                try
                {
                    await ReloadAsync(CancellationToken.None).ConfigureAwait(false);
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
            Log.WatchNotStarted(host.Logger, host.Name, watch.Watched, error);
        }
    }

    private InvalidOperationException LoadFailed() => new(
        LoadError is OptionsValidationException
            ? LoadError.Message
            : $"Model '{host.Name}' failed to load: {LoadError!.Message}",
        LoadError);
}
