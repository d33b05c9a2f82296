using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe;

/// <summary>
/// A hosted model of one contract: the pre-processor, model and post-processor of each call, on the caller's side,
/// with its middleware around single calls; queued calls go through the batcher of the version that takes them,
/// direct and bulk calls through its runner (<see cref="ServingVersion{TInput, TOutput}"/>). Copies of single calls
/// go through the shadow's batcher (<see cref="HostedModel.SetShadowAsync"/>).
/// </summary>
internal sealed class HostedModel<TRequest, TInput, TOutput, TResponse> : HostedModel, IVersionedModel<TRequest, TResponse>
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    private const string Direct = "direct";
    private const string Queued = "queued";
    private const string Bulk = "bulk";

    /// <summary>The handlers every version shares; set once, before the first version is published.</summary>
    private volatile Pipeline? pipeline;

    /// <summary>How each monitored output is read from an output record (<c>MonitorOutput</c>), checked against the contract with the handlers.</summary>
    private Func<TOutput, double>[] monitoredOutputs = [];

    internal HostedModel(string name, ModelDefinition definition, ModelHost host)
        : base(name, definition, host)
    {
    }

    public override int QueueLength => CalledVersions.Sum(v => Typed(v).Batcher.QueueLength);

    public override int QueueCapacity => LoadedVersions.Count == 0 ? 0 : LoadedVersions[0].QueueCapacity;

    public override int MaxBatchSize => LoadedVersions.Count == 0 ? 0 : Typed(LoadedVersions[0]).Runner.MaxBatchSize;

    public TResponse Predict(TRequest request, CancellationToken cancellationToken = default) => PredictWithVersion(request, cancellationToken).Response;

    public ValueTask<TResponse> PredictAsync(TRequest request, CancellationToken cancellationToken = default)
    {
        var ready = Ready();
        return ready.Middleware is null
            ? RunQueued(ready, request, cancellationToken, record: true, static (response, _) => response)
            : ResponseOf(PredictWithVersionAsync(request, cancellationToken));
    }

    public VersionedResponse<TResponse> PredictWithVersion(TRequest request, CancellationToken cancellationToken = default)
    {
        var ready = Ready();
        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(Direct);
        ServingVersion? served = null;
        try
        {
            TResponse response;
            if (ready.Middleware is { } chain)
            {
                var context = new ModelCallContext(Name, ModelCallMode.Direct, cancellationToken);
                try
                {
                    response = Wait(chain(request, context));
                }
                finally
                {
                    served = context.Served;
                }
            }
            else
            {
                response = RunDirect(ready, request, cancellationToken, out served);
            }

            Record(started, Direct, null, activity, served);
            return new(response, served?.Version ?? 0);
        }
        catch (Exception error)
        {
            Record(started, Direct, error, activity, served);
            throw;
        }
    }

    public ValueTask<VersionedResponse<TResponse>> PredictWithVersionAsync(TRequest request, CancellationToken cancellationToken = default)
    {
        var ready = Ready();
        return ready.Middleware is { } chain
            ? ThroughMiddleware(chain, request, cancellationToken)
            : RunQueued(ready, request, cancellationToken, record: true, static (response, served) => new VersionedResponse<TResponse>(response, served.Version));
    }

    public void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, CancellationToken cancellationToken = default)
    {
        if (requests.Length != responses.Length)
        {
            throw new ArgumentException($"Model '{Name}': {requests.Length} requests need as many responses, but the response span holds {responses.Length}.", nameof(responses));
        }

        var ready = Ready();
        var size = Math.Min(MaxBatchSize, Math.Max(requests.Length, 1));
        var inputs = ArrayPool<TInput>.Shared.Rent(size);
        var outputs = ArrayPool<TOutput>.Shared.Rent(size);
        try
        {
            for (var start = 0; start < requests.Length; start += size)
            {
                var rows = Math.Min(size, requests.Length - start);
                var started = Stopwatch.GetTimestamp();
                using var activity = StartActivity(Bulk);
                ServingVersion? served = null;
                try
                {
                    for (var i = 0; i < rows; i++) inputs[i] = ToInput(ready, requests[start + i], cancellationToken);
                    // Each batch takes its own lease: a long bulk call moves to a new version between batches, never within one.
                    served = Lease<TRequest>(null, default!);
                    try
                    {
                        var version = Typed(served);
                        version.Runner.Predict(inputs.AsSpan(0, rows), outputs.AsSpan(0, rows), cancellationToken);
                        if (version.TypedMonitor is { } monitor)
                        {
                            for (var i = 0; i < rows; i++) monitor.Observe(inputs[i], outputs[i]);
                        }
                    }
                    finally
                    {
                        served.Release();
                    }

                    for (var i = 0; i < rows; i++) responses[start + i] = ToResponse(ready, outputs[i], cancellationToken);
                    Record(started, Bulk, null, activity, served, rows);
                }
                catch (Exception error)
                {
                    Record(started, Bulk, error, activity, served, rows);
                    throw;
                }
            }
        }
        finally
        {
            ArrayPool<TInput>.Shared.Return(inputs, RuntimeHelpers.IsReferenceOrContainsReferences<TInput>());
            ArrayPool<TOutput>.Shared.Return(outputs, RuntimeHelpers.IsReferenceOrContainsReferences<TOutput>());
        }
    }

    public async IAsyncEnumerable<TResponse> PredictManyAsync(IAsyncEnumerable<TRequest> requests, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var ready = Ready();
        var size = MaxBatchSize;
        var inputs = new TInput[size];
        var outputs = new TOutput[size];
        var responses = new TResponse[size];
        await foreach (var batch in StreamBatches.ReadAsync(requests, size, cancellationToken).ConfigureAwait(false))
        {
            await RunBatchAsync(ready, batch, inputs, outputs, responses, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++) yield return responses[i];
        }
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
        var ready = new Pipeline(pre, post, key, comparer);
        ready.Middleware = Chain(ready, middleware);
        pipeline = ready;
    }

    private protected override ServingVersion StartVersion(long version, ModelSession session, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken, out string sizes)
    {
        var runner = session.CreateRunner<TInput, TOutput>(options.Batching.MaxBatchSize);
        ModelBatcher<TInput, TOutput>? batcher = null;
        try
        {
            batcher = session.CreateBatcher<TInput, TOutput>(modelLane, options.Batching);
            var warmUp = options.EffectiveWarmUpSizes(runner.MaxBatchSize).Select(s => Math.Min(s, runner.MaxBatchSize)).Distinct().ToArray();
            foreach (var rows in warmUp) runner.WarmUp(rows, cancellationToken);
            sizes = warmUp.Length == 0 ? "(none)" : string.Join(", ", warmUp);
            return new ServingVersion<TInput, TOutput>(version, session, runner, batcher, Host.Metrics, ModelTag, CreateMonitor(options.Monitoring));
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
            return new ServingVersion<TInput, TOutput>(model.Version, model, runner, batcher, Host.Metrics, ModelTag, CreateMonitor(options.Monitoring));
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
        if (monitoring is null) return null;
        var baseline = options.Baseline is { } path ? MonitoringBaseline.Load(path) : null;
        var outputs = options.Outputs.Select((o, i) =>
        {
            var expected = baseline?.Outputs.GetValueOrDefault(o.Name);
            var edges = expected?.Edges ?? Distributions.EvenEdges(o.Min, o.Max, o.Bins);
            return (new OutputBins(o.Name, edges, expected), monitoredOutputs[i]);
        }).ToArray();
        return VersionMonitor<TInput, TOutput>.Create(options, outputs);
    }

    /// <summary>The middleware chain, built once, outermost first; null without middleware, so plain calls allocate no context.</summary>
    private ModelCallDelegate<TRequest, TResponse>? Chain(Pipeline ready, IModelMiddleware<TRequest, TResponse>[] middleware)
    {
        if (middleware.Length == 0) return null;
        ModelCallDelegate<TRequest, TResponse> next = (request, context) =>
        {
            if (context.Mode == ModelCallMode.Direct)
            {
                var response = RunDirect(ready, request, context.CancellationToken, out var served);
                context.Served = served;
                return new ValueTask<TResponse>(response);
            }

            return Queue(request, context);
        };
        for (var i = middleware.Length - 1; i >= 0; i--)
        {
            var handler = middleware[i];
            var inner = next;
            next = (request, context) => handler.InvokeAsync(request, context, inner);
        }

        return next;
    }

    private TResponse RunDirect(Pipeline ready, TRequest request, CancellationToken cancellationToken, out ServingVersion served)
    {
        var input = ToInput(ready, request, cancellationToken);
        served = Lease(ready.Key, request);
        TOutput output;
        try
        {
            var version = Typed(served);
            output = version.Runner.Predict(input, cancellationToken);
            version.TypedMonitor?.Observe(input, output);
        }
        finally
        {
            served.Release();
        }

        var response = ToResponse(ready, output, cancellationToken);
        CopyToShadow(ready, request, input, response, served);
        return response;
    }

    /// <summary>
    /// A queued call: the version is picked, and leased, once the request is processed and until its batch answered. The one
    /// async step of a call without middleware: measured and recorded here when <paramref name="record"/> (the middleware
    /// path records around the chain instead), and shaped into the caller's result type by <paramref name="result"/>, so
    /// each answer resumes one state machine, not one per layer (measured: three layers ran hosted calls at 0.4–0.5× the
    /// bare batcher's throughput).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResult> RunQueued<TResult>(Pipeline ready, TRequest request, CancellationToken cancellationToken, bool record, Func<TResponse, ServingVersion, TResult> result)
    {
        var started = record ? Stopwatch.GetTimestamp() : 0;
        using var activity = record ? StartActivity(Queued) : null;
        ServingVersion? served = null;
        try
        {
            var input = ready.Pre is null ? Same<TRequest, TInput>(request) : await ready.Pre.ProcessAsync(request, cancellationToken).ConfigureAwait(false);
            served = Lease(ready.Key, request);
            TOutput output;
            try
            {
                var version = Typed(served);
                output = await version.Batcher.PredictAsync(input, cancellationToken).ConfigureAwait(false);
                version.TypedMonitor?.Observe(input, output);
            }
            finally
            {
                served.Release();
            }

            var response = ready.Post is null ? Same<TOutput, TResponse>(output) : await ready.Post.ProcessAsync(output, cancellationToken).ConfigureAwait(false);
            CopyToShadow(ready, request, input, response, served);
            if (record) Record(started, Queued, null, activity, served);
            return result(response, served);
        }
        catch (Exception error) when (record)
        {
            Record(started, Queued, error, activity, served);
            throw;
        }
    }

    /// <summary>A queued call under middleware: the chain runs it, and it is recorded around the chain.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<VersionedResponse<TResponse>> ThroughMiddleware(ModelCallDelegate<TRequest, TResponse> chain, TRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(Queued);
        var context = new ModelCallContext(Name, ModelCallMode.Queued, cancellationToken);
        try
        {
            var response = await chain(request, context).ConfigureAwait(false);
            Record(started, Queued, null, activity, context.Served);
            return new(response, context.Served?.Version ?? 0);
        }
        catch (Exception error)
        {
            Record(started, Queued, error, activity, context.Served);
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<TResponse> ResponseOf(ValueTask<VersionedResponse<TResponse>> call) => (await call.ConfigureAwait(false)).Response;

    /// <summary>Sends a copy of a call that <paramref name="served"/> answered to the shadow, when there is one and the call is picked.</summary>
    private void CopyToShadow(Pipeline ready, TRequest request, TInput input, TResponse response, ServingVersion served)
    {
        if (StartShadowCopy() is not { } shadow) return;
        if (ExecutionContext.IsFlowSuppressed())
        {
            _ = CopyAsync(shadow, ready, request, input, response, served.Version);
            return;
        }

        // The copy outlives the call: it must not carry the call's AsyncLocal values (an HttpContext, a scope) along.
        using (ExecutionContext.SuppressFlow())
        {
            _ = CopyAsync(shadow, ready, request, input, response, served.Version);
        }
    }

    /// <summary>
    /// One copy: queued on the shadow's batcher, post-processed and compared when the model compares its shadow, then
    /// counted. Never throws: what fails is logged and counted.
    /// </summary>
    private async Task CopyAsync(ShadowTraffic shadow, Pipeline ready, TRequest request, TInput input, TResponse response, long version)
    {
        var outcome = "ok";
        try
        {
            TOutput output;
            try
            {
                var copyVersion = Typed(shadow.Version);
                output = await copyVersion.Batcher.PredictAsync(input).ConfigureAwait(false);
                copyVersion.TypedMonitor?.Observe(input, output);
            }
            finally
            {
                shadow.Version.Release();
            }

            if (ready.Comparer is { } comparer)
            {
                var shadowResponse = ready.Post is null ? Same<TOutput, TResponse>(output) : await ready.Post.ProcessAsync(output, CancellationToken.None).ConfigureAwait(false);
                if (!Compare(comparer, request, response, shadowResponse, version, shadow.Version)) outcome = "error";
            }
        }
        catch (ObjectDisposedException)
        {
            // The model stopped while the copy was queued.
            outcome = "dropped";
        }
        catch (Exception error)
        {
            outcome = "error";
            Log.ShadowCallFailed(Host.Logger, Name, shadow.Version.Version, version, error);
        }
        finally
        {
            RecordShadow(shadow, outcome);
            shadow.Finish();
        }
    }

    /// <summary>Runs the model's shadow comparison on one copy and counts a disagreement; false, and logged, when it threw.</summary>
    private bool Compare(ShadowComparer<TRequest, TResponse> comparer, TRequest request, TResponse response, TResponse shadowResponse, long version, ServingVersion shadow)
    {
        try
        {
            var agreed = comparer.Agree?.Invoke(response, shadowResponse);
            if (agreed == false) Host.Metrics.ShadowDisagreements.Add(1, ModelTag, shadow.Tag);
            comparer.OnCompared?.Invoke(new(request, response, shadowResponse, version, shadow.Version, agreed));
            return true;
        }
        catch (Exception error)
        {
            Log.ShadowComparisonFailed(Host.Logger, Name, version, shadow.Version, error);
            return false;
        }
    }

    /// <summary>The innermost step of a queued call under middleware: runs it and tells the context which version answered.</summary>
    private async ValueTask<TResponse> Queue(TRequest request, ModelCallContext context)
    {
        var (response, served) = await RunQueued(pipeline!, request, context.CancellationToken, record: false, static (response, served) => (response, served)).ConfigureAwait(false);
        context.Served = served;
        return response;
    }

    /// <summary>One batch of a stream: its pre-processing, its run and its post-processing, measured as one bulk call.</summary>
    private async ValueTask RunBatchAsync(Pipeline ready, ArraySegment<TRequest> batch, TInput[] inputs, TOutput[] outputs, TResponse[] responses, CancellationToken cancellationToken)
    {
        var count = batch.Count;
        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(Bulk);
        ServingVersion? served = null;
        try
        {
            for (var i = 0; i < count; i++)
            {
                inputs[i] = ready.Pre is null ? Same<TRequest, TInput>(batch[i]) : await ready.Pre.ProcessAsync(batch[i], cancellationToken).ConfigureAwait(false);
            }

            served = Lease<TRequest>(null, default!);
            try
            {
                var version = Typed(served);
                version.Runner.Predict(inputs.AsSpan(0, count), outputs.AsSpan(0, count), cancellationToken);
                if (version.TypedMonitor is { } monitor)
                {
                    for (var i = 0; i < count; i++) monitor.Observe(inputs[i], outputs[i]);
                }
            }
            finally
            {
                served.Release();
            }

            for (var i = 0; i < count; i++)
            {
                responses[i] = ready.Post is null ? Same<TOutput, TResponse>(outputs[i]) : await ready.Post.ProcessAsync(outputs[i], cancellationToken).ConfigureAwait(false);
            }

            Record(started, Bulk, null, activity, served, count);
        }
        catch (Exception error)
        {
            Record(started, Bulk, error, activity, served, count);
            throw;
        }
    }

    private static TInput ToInput(Pipeline ready, TRequest request, CancellationToken cancellationToken) =>
        ready.Pre is null ? Same<TRequest, TInput>(request) : Wait(ready.Pre.ProcessAsync(request, cancellationToken));

    private static TResponse ToResponse(Pipeline ready, TOutput output, CancellationToken cancellationToken) =>
        ready.Post is null ? Same<TOutput, TResponse>(output) : Wait(ready.Post.ProcessAsync(output, cancellationToken));

    /// <summary>
    /// A value passed through unchanged where a model has no handler; <see cref="PrepareHandlers"/> allows that only when the
    /// two types are the same, which makes this a no-op the JIT removes.
    /// </summary>
    private static TTo Same<TFrom, TTo>(TFrom value) => Unsafe.As<TFrom, TTo>(ref value);

    /// <summary>The result of a handler on a synchronous path: free when it completed synchronously, a blocking wait otherwise.</summary>
    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    /// <summary>A version of this contract: every version this model publishes is one.</summary>
    private static ServingVersion<TInput, TOutput> Typed(ServingVersion version) => (ServingVersion<TInput, TOutput>)version;

    private Pipeline Ready()
    {
        if (State == ModelState.Ready && pipeline is { } ready) return ready;
        EnsureLoaded();
        return pipeline!;
    }

    private InvalidOperationException WrongHandler(HandlerRegistration registration, string role, string expected) => new(
        $"its {role} {registration.HandlerType.Name} is not an {expected}: a model of {typeof(TRequest).Name} → {typeof(TResponse).Name} over {typeof(TInput).Name} → {typeof(TOutput).Name} needs one.");

    /// <summary>The handlers every version of the model shares; complete before it is published to callers, and never changed after.</summary>
    private sealed class Pipeline(IPreProcessor<TRequest, TInput>? pre, IPostProcessor<TOutput, TResponse>? post, Func<TRequest, string?>? key, ShadowComparer<TRequest, TResponse>? comparer)
    {
        internal IPreProcessor<TRequest, TInput>? Pre { get; } = pre;

        internal IPostProcessor<TOutput, TResponse>? Post { get; } = post;

        /// <summary>The call's canary routing key (<c>RouteCanaryBy</c>); null routes at random.</summary>
        internal Func<TRequest, string?>? Key { get; } = key;

        /// <summary>How a call's response is compared with its shadow copy's (<c>CompareShadow</c>); null copies stop at the model's output.</summary>
        internal ShadowComparer<TRequest, TResponse>? Comparer { get; } = comparer;

        /// <summary>The middleware chain; null when the model has none.</summary>
        internal ModelCallDelegate<TRequest, TResponse>? Middleware { get; set; }
    }
}
