using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace InProcServe;

/// <summary>Where a hosted model is in its life.</summary>
public enum ModelState
{
    /// <summary>Registered; loads when the host starts or on its first call.</summary>
    NotLoaded,

    /// <summary>Loaded, bound to its contract, warmed up and serving.</summary>
    Ready,

    /// <summary>
    /// The load failed (<see cref="HostedModel.LoadError"/> says why); calls throw. <see cref="HostedModel.ReloadAsync"/>,
    /// or a change the watch sees (<see cref="ModelOptions.WatchForChanges"/>), tries the load again.
    /// </summary>
    Failed,
}

/// <summary>
/// A hosted model seen without its contract's types, for code that serves every model alike (health checks,
/// the Open Inference Protocol, an untyped batch path): its state, versions, session, lane and queue. Get it from
/// <see cref="ModelCatalog"/>; call it through <see cref="IModel{TRequest, TResponse}"/>.
/// </summary>
public abstract partial class HostedModel
{
    private readonly ModelDefinition definition;
    private readonly Lock loadGate = new();
    private readonly string activityName;
    private ExecutionLane? lane;
    private volatile int state;

    /// <summary>Whether <see cref="PrepareHandlers"/> succeeded: a load tried again after a failure keeps the handlers it claimed.</summary>
    private bool handlersPrepared;

    /// <summary>Set when the model stops with its host (under <see cref="loadGate"/>): no load may publish versions after it.</summary>
    private bool stopped;

    private protected HostedModel(string name, ModelDefinition definition, ModelHost host)
    {
        Name = name;
        this.definition = definition;
        Host = host;
        activityName = $"predict {name}";
        ModelTag = new(InProcServeMetrics.ModelTag, name);
        VersionTag = new(InProcServeMetrics.VersionTag, null);
    }

    /// <summary>The model's name.</summary>
    public string Name { get; }

    /// <summary>What callers send.</summary>
    public Type RequestType => definition.RequestType;

    /// <summary>What callers get.</summary>
    public Type ResponseType => definition.ResponseType;

    /// <summary>Where the model is in its life.</summary>
    public ModelState State => (ModelState)state;

    /// <summary>Why the load failed; null unless <see cref="State"/> is <see cref="ModelState.Failed"/>.</summary>
    public Exception? LoadError { get; private set; }

    /// <summary>Whether the app runs on when the model fails to load (<see cref="ModelOptions.Optional"/>); known once a load was tried.</summary>
    public bool IsOptional { get; private set; }

    /// <summary>The primary version's session: its signature and metadata, and untyped runs.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    /// <exception cref="InvalidOperationException">The model runs remotely (<see cref="ModelOptions.Remote"/>) and has no session here.</exception>
    public ModelSession Session => Routing.Primary.Session ?? throw ContractBinding.NoSession(Routing.Primary.Target);

    /// <summary>The lane that runs the model's queued batches; untyped batches of the model belong on it too.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public ExecutionLane Lane => lane ?? throw NotReady();

    /// <summary>
    /// The primary version: the one that answers every call a canary doesn't take. Its folder's number for a version
    /// folder (<see cref="ModelOptions.Folder"/>), else the model's own version (<see cref="ModelMetadata.Version"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public long Version => Routing.Primary.Version;

    /// <summary>
    /// Queued calls waiting now, on every loaded version; 0 before the model is ready. Copies queued for the shadow
    /// (<see cref="SetShadowAsync"/>) are not calls and don't count: a slow shadow never makes the model look busy.
    /// </summary>
    public abstract int QueueLength { get; }

    /// <summary>The most calls the queue holds (<see cref="BatchingOptions.QueueCapacity"/>); 0 before the model is ready.</summary>
    public abstract int QueueCapacity { get; }

    /// <summary>The most requests one batch takes; 0 before the model is ready.</summary>
    public abstract int MaxBatchSize { get; }

    internal ModelHost Host { get; }

    internal KeyValuePair<string, object?> ModelTag { get; }

    /// <summary>The primary version's tag: for the queue gauge, and for calls that fail before a version took them.</summary>
    internal KeyValuePair<string, object?> VersionTag { get; private set; }

    /// <summary>
    /// Loads, binds and warms the model once, and starts the canary and the shadow its options name; later calls return at once, or
    /// throw again if it failed, unless <paramref name="retry"/> asks to try a failed load again (a reload). Starts the
    /// watch the options ask for after the first try, whether it succeeded or not, so that fixing a file revives the model.
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
            ModelOptions? options = null;
            try
            {
                options = Host.Options.Get(Name);
                IsOptional = options.Optional;
                lane = Host.Lanes.Get(options.Lane);
                monitoring = options.Monitoring.Enabled ? options.Monitoring : null;
                if (!handlersPrepared)
                {
                    PrepareHandlers(options);
                    handlersPrepared = true;
                }

                foreach (var source in Sources(options)) loaded.Add(LoadVersion(source, options, cancellationToken));
                var first = WithStartShadow(WithStartCanary(VersionRouting.Of(loaded), options), options);
                Publish(first);
                LoadError = null;
                state = (int)ModelState.Ready;
                Host.Metrics.Observe(this);
                Remember(ModelEventKind.Loaded, first.Primary.Version, $"versions {string.Join(", ", first.Loaded.Select(v => v.Version))} loaded; version {first.Primary.Version} is the primary");
                if (first.Canary is { } canary)
                {
                    Log.CanarySet(Host.Logger, Name, canary.Version, first.Split!.CanaryPercent, first.Primary.Version);
                    Remember(ModelEventKind.CanarySet, first.Primary.Version, $"version {canary.Version} takes {first.Split.CanaryPercent}% of calls");
                }

                if (first.Shadow is { } shadow)
                {
                    Log.ShadowSet(Host.Logger, Name, shadow.Version.Version, shadow.Percent, first.Primary.Version);
                    Remember(ModelEventKind.ShadowSet, first.Primary.Version, $"version {shadow.Version.Version} gets a copy of {shadow.Percent}% of calls");
                }

            }
            catch (Exception error)
            {
                foreach (var version in loaded) version.RetireAsync(stopQueue: true).GetAwaiter().GetResult();
                LoadError = error;
                state = (int)ModelState.Failed;
                Remember(ModelEventKind.LoadFailed, null, error.Message);
                Host.Metrics.ModelLoads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "error"));
                throw LoadFailed();
            }
            finally
            {
                if (options is not null) StartWatching(options);
            }
        }
    }

    /// <summary>
    /// Stops the model: queued calls fail, running calls finish, then every version's session is released. Copies
    /// queued for a shadow are dropped, and those running finish (their comparison included) before this completes.
    /// </summary>
    internal async ValueTask DisposeAsync()
    {
        // A load in progress (a revival the watch started) finishes first and is retired below; none starts after.
        lock (loadGate) stopped = true;
        StopWatching();
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

    /// <summary>Builds the model's handlers (pre- and post-processor, middleware) once, for every version; throws if they don't fit the contract.</summary>
    private protected abstract void PrepareHandlers(ModelOptions options);

    /// <summary>
    /// Binds a loaded session to the contract (which checks its signature), builds its runner and batcher, and runs
    /// its warm-up batches; throws if the contract doesn't fit. Does not dispose <paramref name="session"/> on failure.
    /// </summary>
    /// <param name="version">The version's number.</param>
    /// <param name="session">The loaded session.</param>
    /// <param name="modelLane">The lane its queued batches run on.</param>
    /// <param name="options">The model's options.</param>
    /// <param name="cancellationToken">Cancels the warm-up.</param>
    /// <param name="sizes">The warm-up batch sizes, for the log.</param>
    private protected abstract ServingVersion StartVersion(long version, ModelSession session, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken, out string sizes);

    /// <summary>
    /// Connects to a remote model (<see cref="ModelOptions.Remote"/>), binds its metadata to the contract (which checks it) and
    /// builds its runner and batcher; nothing is warmed up here, since the server loads and warms the model.
    /// </summary>
    private protected abstract ServingVersion StartRemoteVersion(RemoteOptions remote, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken);

    /// <summary>The primary version's remote model, for the health check; null for a model that runs here.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    internal RemoteModel? Remote => Routing.Primary.Target as RemoteModel;

    /// <summary>Loads the model on a call that comes before the host started it, or throws why it can't serve.</summary>
    private protected void EnsureLoaded()
    {
        if (State != ModelState.Ready) Load(CancellationToken.None);
    }

    /// <summary>Starts a call's activity when someone listens.</summary>
    private protected Activity? StartActivity(string mode)
    {
        var activity = InProcServeMetrics.ActivitySource.StartActivity(activityName);
        if (activity is not null)
        {
            activity.SetTag(ModelTag.Key, ModelTag.Value);
            activity.SetTag(VersionTag.Key, VersionTag.Value);
            activity.SetTag(InProcServeMetrics.ModeTag, mode);
        }

        return activity;
    }

    /// <summary>
    /// Records <paramref name="count"/> finished calls: their outcome, their duration, the version that answered them
    /// (<paramref name="served"/>; the primary when none did), and the activity's status.
    /// </summary>
    private protected void Record(long started, string mode, Exception? error, Activity? activity, ServingVersion? served, int count = 1)
    {
        // Nobody listens (no exporter, no MeterListener, no trace): nothing to compute per call.
        if (activity is null && !Host.Metrics.RequestDuration.Enabled && !Host.Metrics.Requests.Enabled) return;
        var outcome = error switch
        {
            null => "ok",
            QueueFullException => "rejected",
            TimeoutException => "timeout",
            OperationCanceledException => "canceled",
            _ => "error",
        };
        var versionTag = served?.Tag ?? VersionTag;
        var tags = new TagList { ModelTag, versionTag, { InProcServeMetrics.ModeTag, mode }, { InProcServeMetrics.OutcomeTag, outcome } };
        Host.Metrics.RequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        Host.Metrics.Requests.Add(count, tags);
        if (activity is not null)
        {
            activity.SetTag(versionTag.Key, versionTag.Value);
            activity.SetTag(InProcServeMetrics.OutcomeTag, outcome);
            if (error is not null) activity.SetStatus(ActivityStatusCode.Error, error.Message);
        }
    }

    private InvalidOperationException LoadFailed() => new(
        LoadError is OptionsValidationException
            ? LoadError.Message
            : $"Model '{Name}' failed to load: {LoadError!.Message}",
        LoadError);

    private InvalidOperationException NotReady() => State == ModelState.Failed
        ? LoadFailed()
        : new InvalidOperationException($"Model '{Name}' is not loaded yet: it loads when the host starts (ModelWarmUpService) or on its first call.");
}
