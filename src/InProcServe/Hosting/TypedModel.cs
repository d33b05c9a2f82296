using Microsoft.Extensions.DependencyInjection;

namespace InProcServe;

/// <summary>
/// A hosted model of one contract: its handlers, checked against the contract once, and its versions, each bound to
/// the contract with a runner and a batcher (<see cref="ContractVersion{TInput, TOutput}"/>). Every call goes through
/// its <see cref="ModelPipeline{TRequest, TInput, TOutput, TResponse}"/>.
/// </summary>
internal sealed class HostedModel<TRequest, TInput, TOutput, TResponse> : HostedModel, IVersionedModel<TRequest, TResponse>
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    /// <summary>The one pipeline every call goes through; set once, before the first version is published.</summary>
    private volatile ModelPipeline<TRequest, TInput, TOutput, TResponse>? pipeline;

    /// <summary>How each monitored output is read from an output record (<c>MonitorOutput</c>), checked against the contract with the handlers.</summary>
    private Func<TOutput, double>[] monitoredOutputs = [];

    internal HostedModel(string name, ModelDefinition definition, ModelHost host)
        : base(name, definition, host)
    {
    }

    public TResponse Predict(TRequest request, CancellationToken cancellationToken = default) =>
        ModelPipeline<TRequest, TInput, TOutput, TResponse>.Wait(Ready().CallAsync(request, ModelCallMode.Direct, cancellationToken, static (response, _) => response));

    public ValueTask<TResponse> PredictAsync(TRequest request, CancellationToken cancellationToken = default) =>
        Ready().CallAsync(request, ModelCallMode.Queued, cancellationToken, static (response, _) => response);

    public VersionedResponse<TResponse> PredictWithVersion(TRequest request, CancellationToken cancellationToken = default) =>
        ModelPipeline<TRequest, TInput, TOutput, TResponse>.Wait(Ready().CallAsync(request, ModelCallMode.Direct, cancellationToken, static (response, version) => new VersionedResponse<TResponse>(response, version)));

    public ValueTask<VersionedResponse<TResponse>> PredictWithVersionAsync(TRequest request, CancellationToken cancellationToken = default) =>
        Ready().CallAsync(request, ModelCallMode.Queued, cancellationToken, static (response, version) => new VersionedResponse<TResponse>(response, version));

    public void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, CancellationToken cancellationToken = default)
    {
        if (requests.Length != responses.Length)
        {
            throw new ArgumentException($"Model '{Name}': {requests.Length} requests need as many responses, but the response span holds {responses.Length}.", nameof(responses));
        }

        Ready().Predict(requests, responses, MaxBatchSize, cancellationToken);
    }

    public IAsyncEnumerable<TResponse> PredictManyAsync(IAsyncEnumerable<TRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return Ready().PredictManyAsync(requests, MaxBatchSize, cancellationToken);
    }

    private protected override void PrepareHandlers(ModelOptions options)
    {
        var services = Host.Services;
        if (options.PreProcessor is null && typeof(TRequest) != typeof(TInput))
        {
            throw new InvalidOperationException(
                $"it takes {typeof(TRequest).Name} requests and runs on {typeof(TInput).Name} inputs but has no pre-processor: add .AddPreProcessor<T>() to AddModel, with a T that implements IPreProcessor<{typeof(TRequest).Name}, {typeof(TInput).Name}>.");
        }

        if (options.PostProcessor is null && typeof(TResponse) != typeof(TOutput))
        {
            throw new InvalidOperationException(
                $"it gives {typeof(TResponse).Name} responses from {typeof(TOutput).Name} outputs but has no post-processor: add .AddPostProcessor<T>() to AddModel, with a T that implements IPostProcessor<{typeof(TOutput).Name}, {typeof(TResponse).Name}>.");
        }

        var pre = options.PreProcessor is { } preRegistration
            ? Host.Claim(preRegistration.Create(services) as IPreProcessor<TRequest, TInput> ?? throw WrongHandler(preRegistration, "pre-processor", $"IPreProcessor<{typeof(TRequest).Name}, {typeof(TInput).Name}>"), Name, "pre-processor")
            : null;
        var post = options.PostProcessor is { } postRegistration
            ? Host.Claim(postRegistration.Create(services) as IPostProcessor<TOutput, TResponse> ?? throw WrongHandler(postRegistration, "post-processor", $"IPostProcessor<{typeof(TOutput).Name}, {typeof(TResponse).Name}>"), Name, "post-processor")
            : null;
        var middleware = options.Middleware.Select(m => Host.Claim(m.Create<TRequest, TResponse>(services, Name, Host.Metrics), Name, "middleware")).ToArray();

        var key = options.CanaryKey switch
        {
            null => null,
            Func<TRequest, string?> typed => typed,
            var other => throw new InvalidOperationException(
                $"its canary routing key is a {other.GetType().Name}, but the model takes {typeof(TRequest).Name} requests: call .RouteCanaryBy<{typeof(TRequest).Name}>(request => …)."),
        };
        var comparer = options.ShadowComparer switch
        {
            null => null,
            ShadowComparer<TRequest, TResponse> typed => typed,
            _ => throw new InvalidOperationException(
                $"its shadow comparison is for other types than the model's {typeof(TRequest).Name} → {typeof(TResponse).Name}: call .CompareShadow<{typeof(TRequest).Name}, {typeof(TResponse).Name}>(…)."),
        };
        monitoredOutputs = options.Monitoring.Outputs.Select(o => o.Value as Func<TOutput, double> ?? throw new InvalidOperationException(
            $"its monitored output '{o.Name}' reads a {o.OutputType.Name}, but the model's output record is {typeof(TOutput).Name}: call .MonitorOutput<{typeof(TOutput).Name}>(\"{o.Name}\", output => …).")).ToArray();
        pipeline = new ModelPipeline<TRequest, TInput, TOutput, TResponse>(Name, Lifecycle, Recorder, Host.Logger, Host.Metrics, ModelTag, pre, post, key, comparer, middleware);
    }

    private protected override ServingVersion StartVersion(long version, ModelSession session, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken, out string sizes)
    {
        var runner = ModelRunner.Create<TInput, TOutput>(session, options.Batching.MaxBatchSize);
        ModelBatcher<TInput, TOutput>? batcher = null;
        try
        {
            batcher = ModelBatcher.Create<TInput, TOutput>(session, modelLane, options.Batching);
            var warmUp = options.EffectiveWarmUpSizes(runner.MaxBatchSize).Select(s => Math.Min(s, runner.MaxBatchSize)).Distinct().ToArray();
            foreach (var rows in warmUp) runner.WarmUp(rows, cancellationToken);
            sizes = warmUp.Length == 0 ? "(none)" : string.Join(", ", warmUp);
            return new ContractVersion<TInput, TOutput>(version, session, modelLane, options.Batching.Clone(), runner, batcher, Host.Metrics, ModelTag, CreateMonitor(options.Monitoring));
        }
        catch
        {
            batcher?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            runner.Dispose();
            throw;
        }
    }

    private protected override ServingVersion StartRemoteVersion(RemoteOptions remote, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken)
    {
        var http = Host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(RemoteOptions.HttpClientName(Name));
        // Loading is synchronous (under the load lock); reading the metadata is its one wait on the network.
        var model = RemoteModel.ConnectAsync(Name, remote, http, Host.Logger, cancellationToken).GetAwaiter().GetResult();
        ModelRunner<TInput, TOutput>? runner = null;
        ModelBatcher<TInput, TOutput>? batcher = null;
        try
        {
            runner = model.CreateRunner<TInput, TOutput>(options.Batching.MaxBatchSize);
            batcher = model.CreateBatcher<TInput, TOutput>(modelLane, options.Batching);
            return new ContractVersion<TInput, TOutput>(model.Version, model, modelLane, options.Batching.Clone(), runner, batcher, Host.Metrics, ModelTag, CreateMonitor(options.Monitoring));
        }
        catch
        {
            batcher?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            runner?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A version's monitor, when the model is monitored: the outputs read by the accessors <c>MonitorOutput</c> registered,
    /// binned by the baseline's edges for an output the baseline describes, else by the edges it set.
    /// </summary>
    /// <exception cref="IOException">The baseline file can't be read.</exception>
    /// <exception cref="FormatException">The baseline file is not a baseline (it changed since the start was validated).</exception>
    private VersionMonitor<TInput, TOutput>? CreateMonitor(MonitoringOptions options)
    {
        if (!IsMonitored) return null;
        var baseline = options.Baseline is { } path ? MonitoringBaseline.Load(path) : null;
        var outputs = options.Outputs.Select((o, i) =>
        {
            var expected = baseline?.Outputs.GetValueOrDefault(o.Name);
            var edges = expected?.Edges ?? Distributions.EvenEdges(o.Min, o.Max, o.Bins);
            return (new OutputBins(o.Name, edges, expected), monitoredOutputs[i]);
        }).ToArray();
        return VersionMonitor<TInput, TOutput>.Create(options, outputs);
    }

    private ModelPipeline<TRequest, TInput, TOutput, TResponse> Ready()
    {
        if (State == ModelState.Ready && pipeline is { } ready) return ready;
        Lifecycle.EnsureLoaded();
        return pipeline!;
    }

    private InvalidOperationException WrongHandler(HandlerRegistration registration, string role, string expected) => new(
        $"its {role} {registration.HandlerType.Name} is not an {expected}: a model of {typeof(TRequest).Name} → {typeof(TResponse).Name} over {typeof(TInput).Name} → {typeof(TOutput).Name} needs one.");
}
