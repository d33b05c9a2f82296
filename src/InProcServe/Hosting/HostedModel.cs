using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace InProcServe;

/// <summary>
/// A hosted model seen without its contract's types, for code that serves every model alike (health checks, the Open
/// Inference Protocol, dashboards): its state, versions, canary and shadow, and untyped calls on tensors
/// (<see cref="RunAsync"/>). Get it from <see cref="ModelCatalog"/>; call a typed model through
/// <see cref="IModel{TRequest, TResponse}"/>. Its versions live in one <see cref="ModelVersions"/> (Lifecycle/), its
/// calls go through one pipeline (Pipeline/); this type is their public face.
/// </summary>
public abstract class HostedModel : IVersionHost, IObservedModel
{
    private readonly ModelDefinition definition;
    private ModelOptions? options;
    private ExecutionLane? lane;
    private MonitoringOptions? monitoring;
    private UntypedCalls? untyped;

    private protected HostedModel(string name, ModelDefinition definition, ModelHost host)
    {
        Name = name;
        this.definition = definition;
        Host = host;
        ModelTag = new(InProcServeMetrics.ModelTag, name);
        Lifecycle = new ModelVersions(this);
        Recorder = new CallRecorder(name, host.Metrics, Lifecycle);
    }

    /// <summary>The model's name.</summary>
    public string Name { get; }

    /// <summary>What callers send.</summary>
    public Type RequestType => definition.RequestType;

    /// <summary>What callers get.</summary>
    public Type ResponseType => definition.ResponseType;

    /// <summary>Where the model is in its life.</summary>
    public ModelState State => Lifecycle.State;

    /// <summary>Why the load failed; null unless <see cref="State"/> is <see cref="ModelState.Failed"/>.</summary>
    public Exception? LoadError => Lifecycle.LoadError;

    /// <summary>Whether the app runs on when the model fails to load (<see cref="ModelOptions.Optional"/>); known once a load was tried.</summary>
    public bool IsOptional { get; private set; }

    /// <summary>The primary version's session: its signature and metadata, and untyped runs.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>, or it runs remotely (<see cref="ModelOptions.Remote"/>) and has no session here.</exception>
    public ModelSession Session => Lifecycle.Routing.Primary.Session ?? throw ContractBinding.NoSession(Lifecycle.Routing.Primary.Target);

    /// <summary>The lane that runs the model's queued batches; untyped batches of the model belong on it too.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public ExecutionLane Lane => lane ?? throw Lifecycle.NotReady();

    /// <summary>
    /// The primary version: the one that answers every call a canary doesn't take. Its folder's number for a version
    /// folder (<see cref="ModelOptions.Folder"/>), else the model's own version (<see cref="ModelMetadata.Version"/>),
    /// 1 when the file names none.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public long Version => Lifecycle.Routing.Primary.Version;

    /// <summary>Every loaded version, highest first: the primary, the canary and the shadow if any, and the others the version policy keeps ready. Empty before the model is ready.</summary>
    public IReadOnlyList<long> Versions => Lifecycle.Current?.Loaded.Select(v => v.Version).ToArray() ?? [];

    /// <summary>
    /// Queued calls waiting now, on every loaded version; 0 before the model is ready. Copies queued for the shadow
    /// (<see cref="SetShadowAsync"/>) are not calls and don't count: a slow shadow never makes the model look busy.
    /// </summary>
    public int QueueLength => Lifecycle.Current is { } current ? current.Loaded.Where(v => v != current.Shadow?.Version).Sum(v => v.QueueLength) : 0;

    /// <summary>The most calls the queue holds (<see cref="BatchingOptions.QueueCapacity"/>); 0 before the model is ready.</summary>
    public int QueueCapacity => Lifecycle.Current?.Primary.QueueCapacity ?? 0;

    /// <summary>The most requests one batch takes; 0 before the model is ready.</summary>
    public int MaxBatchSize => Lifecycle.Current?.Primary.MaxBatchSize ?? 0;

    /// <summary>The canary's version; null without a canary (<see cref="SetCanaryAsync"/>).</summary>
    public long? CanaryVersion => Lifecycle.Current?.Canary?.Version;

    /// <summary>The canary's share of calls, in percent; 0 without a canary.</summary>
    public double CanaryPercent => Lifecycle.Current?.Split?.CanaryPercent ?? 0;

    /// <summary>The shadow's version; null without a shadow (<see cref="SetShadowAsync"/>).</summary>
    public long? ShadowVersion => Lifecycle.Current?.Shadow?.Version.Version;

    /// <summary>The share of calls copied to the shadow, in percent; 0 without a shadow.</summary>
    public double ShadowPercent => Lifecycle.Current?.Shadow?.Percent ?? 0;

    /// <summary>
    /// Why the last reload failed while an older version kept serving; null when the last reload succeeded or none
    /// was tried. The health check reports Degraded while it is set.
    /// </summary>
    public Exception? ReloadError => Lifecycle.ReloadError;

    /// <summary>The model's latest events (at most 50), oldest first: loads, reloads and canary and shadow changes, failed ones included.</summary>
    public IReadOnlyList<ModelEvent> History => Lifecycle.History;

    /// <summary>Whether the model's predictions are monitored (<see cref="ModelOptions.Monitoring"/>); known once the model loaded.</summary>
    public bool IsMonitored => monitoring is not null;

    internal ModelHost Host { get; }

    internal ModelVersions Lifecycle { get; }

    internal CallRecorder Recorder { get; }

    /// <summary>The model's options as the latest load read them.</summary>
    private protected ModelOptions Options => options ?? throw Lifecycle.NotReady();

    /// <summary>The model's tag on every measurement, boxed once.</summary>
    public KeyValuePair<string, object?> ModelTag { get; }

    KeyValuePair<string, object?> IObservedModel.VersionTag => Lifecycle.PrimaryTag;

    bool IObservedModel.IsReady => State == ModelState.Ready;

    ILogger IVersionHost.Logger => Host.Logger;

    InProcServeMetrics IVersionHost.Metrics => Host.Metrics;

    /// <summary>
    /// Runs the model on tensors, with no contract: the path of the Open Inference Protocol and of models served from
    /// configuration alone. The call takes a lease on a version (<paramref name="version"/>, or the one the routing
    /// picks: the canary for its share, else the primary), so a reload never fails it, and runs on the model's lane,
    /// where requests waiting together are joined into one batch along the batch dimension. Counted in the model's
    /// metrics as a queued call.
    /// </summary>
    /// <param name="inputs">Every model input, by name; the tensors must stay alive until the returned task completes.</param>
    /// <param name="outputNames">The outputs to compute; null or empty for all of them.</param>
    /// <param name="version">The version to run; null for the one the routing picks.</param>
    /// <param name="cancellationToken">Cancels the call: while queued it never runs; while running, ONNX Runtime stops it.</param>
    /// <returns>The outputs and the version that computed them; dispose the outputs.</returns>
    /// <exception cref="ArgumentException">The inputs don't fit the model: the message names the tensor, what was expected and what came.</exception>
    /// <exception cref="KeyNotFoundException"><paramref name="version"/> is not loaded.</exception>
    /// <exception cref="QueueFullException">The model's untyped queue is full.</exception>
    /// <exception cref="NotSupportedException">The model runs remotely (<see cref="ModelOptions.Remote"/>): its calls go through its contract.</exception>
    /// <exception cref="InvalidOperationException">The model is not ready (it failed to load, or hasn't loaded yet).</exception>
    /// <exception cref="ObjectDisposedException">The model stopped with its host.</exception>
    public ValueTask<VersionedResponse<RunOutputs>> RunAsync(IReadOnlyList<NamedTensor> inputs, IReadOnlyCollection<string>? outputNames = null, long? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        Lifecycle.EnsureLoaded();
        return (untyped ??= new UntypedCalls(Lifecycle, Recorder)).RunAsync(inputs, outputNames, version, cancellationToken);
    }

    /// <summary>The signature of a loaded version: its inputs and outputs, as the model file declares them.</summary>
    /// <param name="version">The version; null for the primary.</param>
    /// <exception cref="KeyNotFoundException"><paramref name="version"/> is not loaded.</exception>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public ModelSignature GetSignature(long? version = null)
    {
        var current = Lifecycle.Routing;
        var served = version is { } number
            ? current.Find(number) ?? throw new KeyNotFoundException($"Model '{Name}' has no version {number}. Versions served: {string.Join(", ", current.Loaded.Select(v => v.Version))}.")
            : current.Primary;
        return new ModelSignature(Name, served.Version, served.Target.Inputs, served.Target.Outputs);
    }

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
    public Task ReloadAsync(CancellationToken cancellationToken = default) => Lifecycle.ReloadAsync(cancellationToken);

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
    public Task SetCanaryAsync(long version, double percent, CancellationToken cancellationToken = default) => Lifecycle.SetCanaryAsync(version, percent, cancellationToken);

    /// <summary>Makes the canary the primary: it answers every call, and the old primary is drained and released.</summary>
    /// <returns>A task that completes once the old primary is released.</returns>
    /// <exception cref="InvalidOperationException">The model has no canary.</exception>
    public Task PromoteCanaryAsync() => Lifecycle.EndCanaryAsync(promote: true);

    /// <summary>Drops the canary: the primary answers every call again, and the canary is drained and released.</summary>
    /// <returns>A task that completes once the canary is released.</returns>
    /// <exception cref="InvalidOperationException">The model has no canary.</exception>
    public Task RollBackCanaryAsync() => Lifecycle.EndCanaryAsync(promote: false);

    /// <summary>
    /// Sends a copy of <paramref name="percent"/> of calls to version <paramref name="version"/>, the shadow, to try it
    /// on real traffic: callers get their answers from the primary (or the canary) as before, and never wait for the
    /// copy. A call picked at random is copied once its version answered it; the copy goes through the shadow's own
    /// queue, in batches on the model's lane, and once the shadow answered, the comparison set with <c>CompareShadow</c>
    /// on the builder, if any, sees both responses. The version may be loaded already (<see cref="VersionPolicy.LatestN"/>)
    /// or is loaded now from <see cref="ModelOptions.Folder"/>; a shadow already set is replaced, and released once its
    /// copies finished. Calling again with the same version changes its share. A reload keeps the shadow while its
    /// version is still loaded and not the primary.
    /// </summary>
    /// <remarks>
    /// <para>Direct and queued calls are copied (with middleware, only those that reach the model: a cache hit is not);
    /// bulk calls, whose batches would flood the shadow's queue, and calls that failed are not.</para>
    /// <para>At most <see cref="BatchingOptions.QueueCapacity"/> copies are in flight at once: a call that finds that
    /// many is not copied, so the shadow's queue never fills and never holds a caller up. Copies are counted in
    /// <c>inprocserve.shadow.requests</c> by outcome (ok, error, or dropped: too many in flight, or the model stopped);
    /// a copy that fails is logged, and its caller never sees it. Copies take turns with the model's batches on its
    /// lane's workers: on a busy lane, keep the share small. Queued copies are not counted in <see cref="QueueLength"/>.</para>
    /// <para>The copy reads the model input after the call returned: a model without a pre-processor, whose input is
    /// the caller's request, must not have its request's arrays refilled by the caller once the call is done.</para>
    /// </remarks>
    /// <param name="version">The shadow's version number.</param>
    /// <param name="percent">The share of calls copied to it, from 0 to 100.</param>
    /// <param name="cancellationToken">Cancels loading the version.</param>
    /// <returns>A task that completes once the shadow gets copies, and a shadow it replaced is released.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is not from 0 to 100.</exception>
    /// <exception cref="ArgumentException"><paramref name="version"/> is the primary or the canary: they answer calls.</exception>
    /// <exception cref="InvalidOperationException">The version is not loaded and the model has no version folder that holds it, or it failed to load.</exception>
    /// <exception cref="ObjectDisposedException">The model stopped with its host.</exception>
    public Task SetShadowAsync(long version, double percent, CancellationToken cancellationToken = default) => Lifecycle.SetShadowAsync(version, percent, cancellationToken);

    /// <summary>
    /// Stops copying calls to the shadow: no call is copied once this returns. The shadow's version is released, as a
    /// canary rolled back is. Does nothing when there is no shadow.
    /// </summary>
    /// <returns>A task that completes once the copies in flight finished, their comparisons included, and the version was released.</returns>
    public Task StopShadowAsync() => Lifecycle.StopShadowAsync();

    /// <summary>
    /// What prediction monitoring saw of each loaded version: the distribution of each monitored output over its
    /// latest sampled values, with its drift from the primary and from the baseline, and a summary of each numeric
    /// input column. Computed now; cheap enough to call every second.
    /// </summary>
    /// <returns>The report; null when monitoring is off (<see cref="MonitoringOptions.Enabled"/>) or the model is not ready.</returns>
    public MonitoringReport? GetMonitoringReport() =>
        monitoring is { } settings && Lifecycle.Current is { } current ? VersionReports.Monitoring(Name, settings, current) : null;

    /// <summary>The primary version's remote model, for the health check; null for a model that runs here.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    internal RemoteModel? Remote => Lifecycle.Routing.Primary.Target as RemoteModel;

    /// <summary>Loads the model now, unless it is loaded; <see cref="ModelVersions.Load"/>.</summary>
    internal void Load(CancellationToken cancellationToken) => Lifecycle.Load(cancellationToken);

    /// <summary>Stops the model with its host; <see cref="ModelVersions.DisposeAsync"/>.</summary>
    internal async ValueTask DisposeAsync()
    {
        await Lifecycle.DisposeAsync().ConfigureAwait(false);
        Host.Metrics.Forget(this);
    }

    /// <summary>Builds the model's handlers (pre- and post-processor, middleware) once, for every version; throws if they don't fit the contract.</summary>
    private protected abstract void PrepareHandlers(ModelOptions options);

    /// <summary>
    /// Binds a loaded session to the contract (which checks its signature), builds what serves calls on it, and runs its
    /// warm-up batches; throws if the contract doesn't fit. Does not dispose <paramref name="session"/> on failure.
    /// </summary>
    /// <param name="version">The version's number.</param>
    /// <param name="session">The loaded session.</param>
    /// <param name="modelLane">The lane its queued batches run on.</param>
    /// <param name="options">The model's options.</param>
    /// <param name="cancellationToken">Cancels the warm-up.</param>
    /// <param name="sizes">The warm-up batch sizes, for the log.</param>
    private protected abstract ServingVersion StartVersion(long version, ModelSession session, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken, out string sizes);

    /// <summary>
    /// Connects to a remote model (<see cref="ModelOptions.Remote"/>), binds its metadata to the contract (which checks
    /// it) and builds its runner and batcher; nothing is warmed up here, since the server loads and warms the model.
    /// </summary>
    private protected abstract ServingVersion StartRemoteVersion(RemoteOptions remote, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken);

    VersionPlan IVersionHost.Plan()
    {
        var current = Host.Options.Get(Name);
        options = current;
        IsOptional = current.Optional;
        lane = Host.Lanes.Get(current.Lane);
        monitoring = current.Monitoring.Enabled ? current.Monitoring : null;
        var watch = !current.WatchForChanges ? null : new WatchSetting(
            current.Path ?? current.Folder!,
            // The file's folder, or the version folder itself: a missing version folder would be watched as a file.
            current.Path is { } file ? Path.GetDirectoryName(Path.GetFullPath(file))! : current.Folder!,
            current.WatchQuietPeriod);
        return new VersionPlan(
            current.Versions.ToString(),
            current.Canary.Version is { } canary ? new VersionShareSetting(canary, current.Canary.Percent!.Value) : null,
            current.Shadow.Version is { } shadow ? new VersionShareSetting(shadow, current.Shadow.Percent!.Value) : null,
            watch);
    }

    void IVersionHost.Prepare() => PrepareHandlers(Options);

    IReadOnlyList<VersionSource> IVersionHost.Sources()
    {
        var current = Options;
        if (current.Path is { } path) return [new VersionSource(null, path)];
        if (current.Folder is not { } folder) return [new VersionSource(null, null)];
        var found = VersionFolder.Scan(folder, current.Versions);
        return found.Count > 0
            ? found.Select(f => new VersionSource(f.Version, f.Path)).ToArray()
            : throw new InvalidOperationException($"the folder '{Path.GetFullPath(folder)}' holds no version that the policy '{current.Versions}' picks: add a numbered folder with the model, such as 1/{VersionFolder.ModelFileName}.");
    }

    VersionSource? IVersionHost.FindInFolder(long version, out string whereLooked)
    {
        var folder = Options.Folder;
        var found = folder is null ? [] : VersionFolder.Scan(folder, VersionPolicy.Specific(version));
        whereLooked = folder is null
            ? "; the model has no version folder (ModelOptions.Folder) to load it from."
            : $", and '{Path.GetFullPath(folder)}' holds no {version}/{VersionFolder.ModelFileName}.";
        return found.Count == 0 ? null : new VersionSource(version, found[0].Path);
    }

    ServingVersion IVersionHost.Start(VersionSource source, CancellationToken cancellationToken)
    {
        var current = Options;
        if (current.Remote is { } remote)
        {
            var connected = StartRemoteVersion(remote, Lane, current, cancellationToken);
            Host.Metrics.ModelLoads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "ok"));
            return connected;
        }

        var clock = Stopwatch.StartNew();
        var sessionOptions = current.Session.Clone();
        sessionOptions.Name = Name;
        var session = source.Path is { } path
            ? ModelSession.Load(path, sessionOptions)
            : ModelSession.Load(current.ModelBytes!(Host.Services).Span, sessionOptions);
        try
        {
            // A file that names no version is version 1, as Triton numbers a model's first version.
            var number = source.Version ?? (session.Metadata.Version > 0 ? session.Metadata.Version : 1);
            Log.ModelLoaded(Host.Logger, Name, source.Path ?? "bytes", number, session.ExecutionProvider.ToString(), Lane.Name, clock.Elapsed.TotalMilliseconds);
            var warmUp = Stopwatch.StartNew();
            var version = StartVersion(number, session, Lane, current, cancellationToken, out var sizes);
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

    void IVersionHost.Serving() => Host.Metrics.Observe(this);
}
