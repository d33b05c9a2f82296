namespace InProcServe;

/// <summary>
/// How a hosted model is loaded, batched and called: named options, one per model, set by its definition
/// (<see cref="ModelDefinition.Configure"/>), then by the builder's extension methods, then by configuration
/// (section <c>InProcServe:Models:&lt;Name&gt;</c>, which overrides code). Validated when the host starts, with one
/// message naming every invalid value.
/// </summary>
public sealed class ModelOptions
{
    /// <summary>The model's name (set by the host; the options' name).</summary>
    public string Name { get; internal set; } = "";

    /// <summary>The .onnx file, relative to the current folder or absolute. Default: null. Set one of this, <see cref="Folder"/>, <see cref="ModelBytes"/> or <see cref="Remote"/>.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// A version folder in the Triton layout (<c>fraud/1/model.onnx</c>, <c>fraud/2/model.onnx</c>), relative to the
    /// current folder or absolute: the model serves the versions <see cref="Versions"/> picks, the highest as primary.
    /// Default: null. Set one of this, <see cref="Path"/> or <see cref="ModelBytes"/>.
    /// </summary>
    public string? Folder { get; set; }

    /// <summary>
    /// Which versions of <see cref="Folder"/> to load. Default: <see cref="VersionPolicy.Latest"/>. In configuration:
    /// "latest", "latest 2" or a list such as "1,3".
    /// </summary>
    public VersionPolicy Versions { get; set; } = VersionPolicy.Latest;

    /// <summary>
    /// The canary the model starts with: a version <see cref="Versions"/> loads from <see cref="Folder"/>, below the
    /// primary, and its share of calls, applied once the versions load at start-up. Default: no canary. In
    /// configuration: <c>Canary:Version</c> and <c>Canary:Percent</c>.
    /// </summary>
    public CanaryOptions Canary { get; set; } = new();

    /// <summary>
    /// The shadow the model starts with: a version <see cref="Versions"/> loads from <see cref="Folder"/>, below the
    /// primary and other than the canary, and the share of calls copied to it, applied once the versions load at
    /// start-up (<see cref="HostedModel.SetShadowAsync"/>). Default: no shadow. In configuration: <c>Shadow:Version</c>
    /// and <c>Shadow:Percent</c>.
    /// </summary>
    public ShadowOptions Shadow { get; set; } = new();

    /// <summary>
    /// Produces the model's bytes (an embedded resource, a download) when the model loads, and again on each reload.
    /// Default: null. Set one of this, <see cref="Path"/> or <see cref="Folder"/>; the bytes are not kept after the
    /// session is created.
    /// </summary>
    public Func<IServiceProvider, ReadOnlyMemory<byte>>? ModelBytes { get; set; }

    /// <summary>
    /// Whether a change of <see cref="Path"/>'s file, or in <see cref="Folder"/>, reloads the model
    /// (<see cref="HostedModel.ReloadAsync"/>) once the files have held still for <see cref="WatchQuietPeriod"/>.
    /// Default: false. Needs a file or folder source.
    /// </summary>
    public bool WatchForChanges { get; set; }

    /// <summary>
    /// Runs the model on a serving cluster over the Open Inference Protocol instead of loading it here (<c>UseRemote</c> on
    /// the builder; <c>InProcServe:Models:&lt;Name&gt;:Remote</c> in configuration). Default: null, the model runs in this
    /// process. A remote model has no <see cref="Path"/>, <see cref="Folder"/> or <see cref="ModelBytes"/>, and ignores
    /// <see cref="Session"/> and <see cref="WarmUpBatchSizes"/>: the server loads and warms it.
    /// </summary>
    public RemoteOptions? Remote { get; set; }

    /// <summary>How long watched files must hold still (a copy in progress keeps changing) before a reload. Default: 2 seconds.</summary>
    public TimeSpan WatchQuietPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether the app may run without this model. Default: false: a failed load fails the host's start. When true, a
    /// failed load is logged, the model's health check reports Unhealthy and its calls throw.
    /// </summary>
    public bool Optional { get; set; }

    /// <summary>The <see cref="ExecutionLane"/> that runs the model's queued batches, by name. Default: "cpu" (one worker per two processors).</summary>
    public string Lane { get; set; } = LaneOptions.DefaultLane;

    /// <summary>
    /// How the session is created. Default: the defaults of <see cref="ModelSessionOptions"/>, except
    /// <see cref="ModelSessionOptions.IntraOpThreads"/> = 1, since parallelism comes from the lane's workers and the callers.
    /// <see cref="ModelSessionOptions.Name"/> is ignored: the session takes the model's name.
    /// </summary>
    public ModelSessionOptions Session { get; set; } = new() { IntraOpThreads = 1 };

    /// <summary>How queued calls are batched; <see cref="BatchingOptions.MaxBatchSize"/> also sizes bulk batches. Default: the defaults of <see cref="BatchingOptions"/>.</summary>
    public BatchingOptions Batching { get; set; } = new();

    /// <summary>
    /// The batch sizes the model runs once each, on zeros, while it loads, so the first real calls don't pay for
    /// ONNX Runtime's first runs. Default: null, which means 1 and <see cref="BatchingOptions.MaxBatchSize"/>; empty
    /// turns warm-up off.
    /// </summary>
    public IList<int>? WarmUpBatchSizes { get; set; }

    /// <summary>
    /// Prediction monitoring: a sampled share of rows feeds each version's output distributions, input summaries and
    /// drift (<see cref="HostedModel.GetMonitoringReport"/>). Default: off; <c>AddMonitoring</c> or <c>MonitorOutput</c>
    /// on the builder, or <c>Monitoring:Enabled</c> in configuration, turns it on.
    /// </summary>
    public MonitoringOptions Monitoring { get; set; } = new();

    /// <summary>The pre-processor, added by <c>AddPreProcessor</c>.</summary>
    internal HandlerRegistration? PreProcessor { get; set; }

    /// <summary>The post-processor, added by <c>AddPostProcessor</c>.</summary>
    internal HandlerRegistration? PostProcessor { get; set; }

    /// <summary>The routing key of a call for a sticky canary: a <c>Func&lt;TRequest, string?&gt;</c>, set by <c>RouteCanaryBy</c>.</summary>
    internal Delegate? CanaryKey { get; set; }

    /// <summary>How a call's response and its shadow copy's are compared: a <c>ShadowComparer&lt;TRequest, TResponse&gt;</c>, set by <c>CompareShadow</c>.</summary>
    internal object? ShadowComparer { get; set; }

    /// <summary>Middleware in call order: the first added is the outermost.</summary>
    internal List<MiddlewareRegistration> Middleware { get; } = [];

    /// <summary>Values in configuration that could not be read, reported by validation with the rest.</summary>
    internal List<string> ConfigurationErrors { get; } = [];

    /// <summary>The warm-up sizes that apply: <see cref="WarmUpBatchSizes"/>, or 1 and the batch size the model runs.</summary>
    internal IEnumerable<int> EffectiveWarmUpSizes(int maxBatchSize) => WarmUpBatchSizes ?? (maxBatchSize == 1 ? [1] : [1, maxBatchSize]);

    /// <summary>Adds a line to <paramref name="errors"/> for every invalid value.</summary>
    internal void AddErrors(List<string> errors)
    {
        errors.AddRange(ConfigurationErrors);
        var sources = new[] { (nameof(Path), Path is not null), (nameof(Folder), Folder is not null), (nameof(ModelBytes), ModelBytes is not null) }.Where(s => s.Item2).Select(s => s.Item1).ToArray();
        if (Remote is not null)
        {
            var remoteErrors = new List<string>();
            Remote.AddErrors(remoteErrors);
            errors.AddRange(remoteErrors.Select(e => $"{nameof(Remote)}.{e}"));
            if (sources.Length > 0) errors.Add($"{nameof(Remote)} is set and so {(sources.Length == 1 ? "is" : "are")} {string.Join(" and ", sources)}; a remote model runs on its servers and has no local source: set one or the other.");
            if (WatchForChanges) errors.Add($"{nameof(WatchForChanges)} is on but the model is remote; watching needs {nameof(Path)} or {nameof(Folder)}.");
        }
        else if (sources.Length == 0)
        {
            errors.Add($"no model source: set InProcServe:Models:{Name}:Path (a file), :Folder (a version folder) or :Remote:Url (a server) in configuration, or call .FromFile(path), .FromFolder(folder), .FromBytes(…) or .UseRemote(url) on the builder.");
        }
        else if (sources.Length > 1)
        {
            errors.Add($"{string.Join(" and ", sources)} are {(sources.Length == 2 ? "both" : "all")} set; a model has one source: set one.");
        }
        else if (Path is { Length: 0 })
        {
            errors.Add($"{nameof(Path)} is empty; it must name the .onnx file.");
        }
        else if (Folder is { Length: 0 })
        {
            errors.Add($"{nameof(Folder)} is empty; it must name the version folder.");
        }

        if (Versions is null) errors.Add($"{nameof(Versions)} is null; leave the default (latest) or set a policy.");
        var source = sources.Length == 1 ? sources[0] : null;
        // The folder is read once, and only when a canary or a shadow needs it checked.
        var loads = Canary?.Version is null && Shadow?.Version is null ? null : FolderLoads();
        if (Canary is null)
        {
            errors.Add($"{nameof(Canary)} is null; leave the default (no canary) or set an instance.");
        }
        else
        {
            var canaryErrors = new List<string>();
            Canary.AddErrors(canaryErrors, source, Versions, loads);
            errors.AddRange(canaryErrors.Select(e => $"{nameof(Canary)}.{e}"));
        }

        if (Shadow is null)
        {
            errors.Add($"{nameof(Shadow)} is null; leave the default (no shadow) or set an instance.");
        }
        else
        {
            var shadowErrors = new List<string>();
            Shadow.AddErrors(shadowErrors, source, Versions, loads);
            errors.AddRange(shadowErrors.Select(e => $"{nameof(Shadow)}.{e}"));
            if (Shadow.Version is { } shadow && shadow == Canary?.Version)
            {
                errors.Add($"{nameof(Shadow)}.{nameof(ShadowOptions.Version)} is {shadow}, which is also {nameof(Canary)}.{nameof(CanaryOptions.Version)}: the canary answers calls and the shadow gets copies of them, so they must be two versions.");
            }
        }

        if (Monitoring is null)
        {
            errors.Add($"{nameof(Monitoring)} is null; leave the default (off) or set an instance.");
        }
        else if (Monitoring.Enabled)
        {
            var monitoringErrors = new List<string>();
            Monitoring.AddErrors(monitoringErrors);
            errors.AddRange(monitoringErrors.Select(e => $"{nameof(Monitoring)}.{e}"));
        }

        if (WatchForChanges && ModelBytes is not null && Remote is null) errors.Add($"{nameof(WatchForChanges)} is on but the model comes from bytes; watching needs {nameof(Path)} or {nameof(Folder)}.");
        if (WatchQuietPeriod <= TimeSpan.Zero) errors.Add($"{nameof(WatchQuietPeriod)} is {WatchQuietPeriod}; it must be positive (default: 2 seconds).");

        if (string.IsNullOrWhiteSpace(Lane)) errors.Add($"{nameof(Lane)} is empty; it must name a lane (default: \"{LaneOptions.DefaultLane}\").");
        if (Session is null)
        {
            errors.Add($"{nameof(Session)} is null; leave the default or set an instance.");
        }
        else
        {
            var sessionErrors = new List<string>();
            Session.AddErrors(sessionErrors);
            errors.AddRange(sessionErrors.Select(e => $"{nameof(Session)}.{e}"));
        }

        if (Batching is null)
        {
            errors.Add($"{nameof(Batching)} is null; leave the default or set an instance.");
        }
        else
        {
            var batchingErrors = new List<string>();
            Batching.AddErrors(batchingErrors);
            errors.AddRange(batchingErrors.Select(e => $"{nameof(Batching)}.{e}"));
            // Sizes are checked against a valid batch size only; an invalid one is reported above.
            foreach (var size in Batching.MaxBatchSize >= 1 ? WarmUpBatchSizes ?? [] : [])
            {
                if (size < 1 || size > Batching.MaxBatchSize)
                {
                    errors.Add($"{nameof(WarmUpBatchSizes)} holds {size}; each size must be from 1 to {nameof(Batching)}.{nameof(BatchingOptions.MaxBatchSize)} ({Batching.MaxBatchSize}).");
                }
            }
        }
    }

    /// <summary>
    /// The versions <see cref="Versions"/> picks in <see cref="Folder"/> now, highest first, for checking a canary or a shadow;
    /// null when the folder or the policy is missing or can't be read, which loading reports.
    /// </summary>
    private IReadOnlyList<long>? FolderLoads()
    {
        if (Folder is not { Length: > 0 } folder || Versions is null || !Directory.Exists(folder)) return null;
        try
        {
            return VersionFolder.Scan(folder, Versions).Select(v => v.Version).ToArray();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
