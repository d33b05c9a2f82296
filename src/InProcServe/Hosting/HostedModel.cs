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

    /// <summary>The load failed (<see cref="HostedModel.LoadError"/> says why); calls throw.</summary>
    Failed,
}

/// <summary>
/// A hosted model seen without its contract's types, for code that serves every model alike (health checks,
/// the Open Inference Protocol, an untyped batch path): its state, session, lane and queue. Get it from
/// <see cref="ModelCatalog"/>; call it through <see cref="IModel{TRequest, TResponse}"/>.
/// </summary>
public abstract class HostedModel : IBatchObserver
{
    private readonly ModelDefinition definition;
    private readonly Lock loadGate = new();
    private readonly string activityName;
    private ModelSession? session;
    private ExecutionLane? lane;
    private volatile int state;

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

    /// <summary>The model's session: its signature and metadata, and untyped runs.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public ModelSession Session => session ?? throw NotReady();

    /// <summary>The lane that runs the model's queued batches; untyped batches of the model belong on it too.</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public ExecutionLane Lane => lane ?? throw NotReady();

    /// <summary>The model's version (<see cref="ModelMetadata.Version"/>).</summary>
    /// <exception cref="InvalidOperationException">The model is not <see cref="ModelState.Ready"/>.</exception>
    public long Version => Session.Metadata.Version;

    /// <summary>Queued calls waiting now; 0 before the model is ready.</summary>
    public abstract int QueueLength { get; }

    /// <summary>The most calls the queue holds (<see cref="BatchingOptions.QueueCapacity"/>); 0 before the model is ready.</summary>
    public abstract int QueueCapacity { get; }

    /// <summary>The most requests one batch takes; 0 before the model is ready.</summary>
    public abstract int MaxBatchSize { get; }

    internal ModelHost Host { get; }

    internal KeyValuePair<string, object?> ModelTag { get; }

    internal KeyValuePair<string, object?> VersionTag { get; private set; }

    void IBatchObserver.Dequeued(long elapsed) =>
        Host.Metrics.QueueDuration.Record((double)elapsed / Stopwatch.Frequency, ModelTag, VersionTag);

    void IBatchObserver.BatchRan(int rows, long elapsed)
    {
        Host.Metrics.InferenceDuration.Record((double)elapsed / Stopwatch.Frequency, ModelTag, VersionTag);
        Host.Metrics.BatchSize.Record(rows, ModelTag, VersionTag);
    }

    /// <summary>Loads, binds and warms the model once; later calls return at once, or throw again if it failed.</summary>
    /// <exception cref="InvalidOperationException">The load failed; the message names the model and the cause.</exception>
    internal void Load(CancellationToken cancellationToken)
    {
        lock (loadGate)
        {
            if (State == ModelState.Ready) return;
            if (State == ModelState.Failed) throw LoadFailed();
            var clock = Stopwatch.StartNew();
            ModelSession? loaded = null;
            try
            {
                var options = Host.Options.Get(Name);
                IsOptional = options.Optional;
                var sessionOptions = options.Session.Clone();
                sessionOptions.Name = Name;
                loaded = options.Path is { } path
                    ? ModelSession.Load(path, sessionOptions)
                    : ModelSession.Load(options.ModelBytes!(Host.Services).Span, sessionOptions);
                VersionTag = new(InProcServeMetrics.VersionTag, loaded.Metadata.Version);
                var modelLane = Host.Lanes.Get(options.Lane);
                Log.ModelLoaded(Host.Logger, Name, options.Path ?? "bytes", loaded.Metadata.Version, loaded.ExecutionProvider.ToString(), modelLane.Name, clock.Elapsed.TotalMilliseconds);

                var warmUp = Stopwatch.StartNew();
                var sizes = Start(loaded, modelLane, options, cancellationToken);
                Log.ModelWarmedUp(Host.Logger, Name, sizes, warmUp.Elapsed.TotalMilliseconds);
                session = loaded;
                lane = modelLane;
                state = (int)ModelState.Ready;
                Host.Metrics.ModelLoads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "ok"));
                Host.Metrics.Observe(this);
            }
            catch (Exception error)
            {
                loaded?.Dispose();
                LoadError = error;
                state = (int)ModelState.Failed;
                Host.Metrics.ModelLoads.Add(1, ModelTag, new(InProcServeMetrics.ResultTag, "error"));
                throw LoadFailed();
            }
        }
    }

    /// <summary>Stops the model: queued calls fail, running batches finish, then the session is released.</summary>
    internal async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        session?.Dispose();
    }

    /// <summary>
    /// Builds the model's handlers and batching over a loaded session and runs its warm-up batches; throws if its
    /// contract or handlers don't fit.
    /// </summary>
    /// <returns>The warm-up batch sizes, for the log.</returns>
    private protected abstract string Start(ModelSession loaded, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken);

    /// <summary>Disposes what <see cref="Start"/> built.</summary>
    private protected abstract ValueTask StopAsync();

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

    /// <summary>Records <paramref name="count"/> finished calls: their outcome, their duration, and the activity's status.</summary>
    private protected void Record(long started, string mode, Exception? error, Activity? activity, int count = 1)
    {
        var outcome = error switch
        {
            null => "ok",
            QueueFullException => "rejected",
            TimeoutException => "timeout",
            OperationCanceledException => "canceled",
            _ => "error",
        };
        var tags = new TagList { ModelTag, VersionTag, { InProcServeMetrics.ModeTag, mode }, { InProcServeMetrics.OutcomeTag, outcome } };
        Host.Metrics.RequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        Host.Metrics.Requests.Add(count, tags);
        if (activity is not null)
        {
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
