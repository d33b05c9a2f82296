using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace InProcServe;

/// <summary>
/// A hosted model of one contract: the pre-processor, model and post-processor of each call, on the caller's side,
/// with its middleware around single calls; queued calls go through the model's <see cref="ModelBatcher{TInput, TOutput}"/>,
/// direct and bulk calls through its <see cref="ModelRunner{TInput, TOutput}"/>.
/// </summary>
internal sealed class HostedModel<TRequest, TInput, TOutput, TResponse> : HostedModel, IModel<TRequest, TResponse>
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    private const string Direct = "direct";
    private const string Queued = "queued";
    private const string Bulk = "bulk";

    /// <summary>Set once the model is ready; read without a lock on every call.</summary>
    private volatile Pipeline? pipeline;

    internal HostedModel(string name, ModelDefinition definition, ModelHost host)
        : base(name, definition, host)
    {
    }

    public override int QueueLength => pipeline?.Batcher.QueueLength ?? 0;

    public override int QueueCapacity => pipeline?.Batcher.QueueCapacity ?? 0;

    public override int MaxBatchSize => pipeline?.Runner.MaxBatchSize ?? 0;

    public TResponse Predict(TRequest request, CancellationToken cancellationToken = default)
    {
        var ready = Ready();
        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(Direct);
        try
        {
            var response = ready.Middleware is { } chain
                ? Wait(chain(request, new ModelCallContext(Name, ModelCallMode.Direct, cancellationToken)))
                : RunDirect(ready, request, cancellationToken);
            Record(started, Direct, null, activity);
            return response;
        }
        catch (Exception error)
        {
            Record(started, Direct, error, activity);
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TResponse> PredictAsync(TRequest request, CancellationToken cancellationToken = default)
    {
        var ready = Ready();
        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(Queued);
        try
        {
            var response = ready.Middleware is { } chain
                ? await chain(request, new ModelCallContext(Name, ModelCallMode.Queued, cancellationToken)).ConfigureAwait(false)
                : await RunQueued(ready, request, cancellationToken).ConfigureAwait(false);
            Record(started, Queued, null, activity);
            return response;
        }
        catch (Exception error)
        {
            Record(started, Queued, error, activity);
            throw;
        }
    }

    public void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, CancellationToken cancellationToken = default)
    {
        if (requests.Length != responses.Length)
        {
            throw new ArgumentException($"Model '{Name}': {requests.Length} requests need as many responses, but the response span holds {responses.Length}.", nameof(responses));
        }

        var ready = Ready();
        var size = Math.Min(ready.Runner.MaxBatchSize, Math.Max(requests.Length, 1));
        var inputs = ArrayPool<TInput>.Shared.Rent(size);
        var outputs = ArrayPool<TOutput>.Shared.Rent(size);
        try
        {
            for (var start = 0; start < requests.Length; start += size)
            {
                var rows = Math.Min(size, requests.Length - start);
                var started = Stopwatch.GetTimestamp();
                using var activity = StartActivity(Bulk);
                try
                {
                    for (var i = 0; i < rows; i++) inputs[i] = ToInput(ready, requests[start + i], cancellationToken);
                    ready.Runner.Predict(inputs.AsSpan(0, rows), outputs.AsSpan(0, rows), cancellationToken);
                    for (var i = 0; i < rows; i++) responses[start + i] = ToResponse(ready, outputs[i], cancellationToken);
                    Record(started, Bulk, null, activity, rows);
                }
                catch (Exception error)
                {
                    Record(started, Bulk, error, activity, rows);
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
        var inputs = new TInput[ready.Runner.MaxBatchSize];
        var outputs = new TOutput[inputs.Length];
        var responses = new TResponse[inputs.Length];
        await foreach (var batch in StreamBatches.ReadAsync(requests, inputs.Length, cancellationToken).ConfigureAwait(false))
        {
            await RunBatchAsync(ready, batch, inputs, outputs, responses, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++) yield return responses[i];
        }
    }

    private protected override string Start(ModelSession loaded, ExecutionLane modelLane, ModelOptions options, CancellationToken cancellationToken)
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

        var runner = loaded.CreateRunner<TInput, TOutput>(options.Batching.MaxBatchSize);
        ModelBatcher<TInput, TOutput>? batcher = null;
        try
        {
            batcher = loaded.CreateBatcher<TInput, TOutput>(modelLane, options.Batching);
            batcher.Observer = this;
            var sizes = options.EffectiveWarmUpSizes(runner.MaxBatchSize).Select(s => Math.Min(s, runner.MaxBatchSize)).Distinct().ToArray();
            foreach (var rows in sizes) runner.WarmUp(rows, cancellationToken);
            var ready = new Pipeline(runner, batcher, pre, post);
            ready.Middleware = Chain(ready, middleware);
            pipeline = ready;
            return sizes.Length == 0 ? "(none)" : string.Join(", ", sizes);
        }
        catch
        {
            batcher?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            runner.Dispose();
            throw;
        }
    }

    private protected override async ValueTask StopAsync()
    {
        if (pipeline is not { } ready) return;
        await ready.Batcher.DisposeAsync().ConfigureAwait(false);
        ready.Runner.Dispose();
    }

    /// <summary>The middleware chain, built once, outermost first; null without middleware, so plain calls allocate no context.</summary>
    private static ModelCallDelegate<TRequest, TResponse>? Chain(Pipeline ready, IModelMiddleware<TRequest, TResponse>[] middleware)
    {
        if (middleware.Length == 0) return null;
        ModelCallDelegate<TRequest, TResponse> next = (request, context) => context.Mode == ModelCallMode.Direct
            ? new ValueTask<TResponse>(RunDirect(ready, request, context.CancellationToken))
            : RunQueued(ready, request, context.CancellationToken);
        for (var i = middleware.Length - 1; i >= 0; i--)
        {
            var handler = middleware[i];
            var inner = next;
            next = (request, context) => handler.InvokeAsync(request, context, inner);
        }

        return next;
    }

    private static TResponse RunDirect(Pipeline ready, TRequest request, CancellationToken cancellationToken)
    {
        var input = ToInput(ready, request, cancellationToken);
        var output = ready.Runner.Predict(input, cancellationToken);
        return ToResponse(ready, output, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<TResponse> RunQueued(Pipeline ready, TRequest request, CancellationToken cancellationToken)
    {
        var input = ready.Pre is null ? Same<TRequest, TInput>(request) : await ready.Pre.ProcessAsync(request, cancellationToken).ConfigureAwait(false);
        var output = await ready.Batcher.PredictAsync(input, cancellationToken).ConfigureAwait(false);
        return ready.Post is null ? Same<TOutput, TResponse>(output) : await ready.Post.ProcessAsync(output, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One batch of a stream: its pre-processing, its run and its post-processing, measured as one bulk call.</summary>
    private async ValueTask RunBatchAsync(Pipeline ready, ArraySegment<TRequest> batch, TInput[] inputs, TOutput[] outputs, TResponse[] responses, CancellationToken cancellationToken)
    {
        var count = batch.Count;
        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(Bulk);
        try
        {
            for (var i = 0; i < count; i++)
            {
                inputs[i] = ready.Pre is null ? Same<TRequest, TInput>(batch[i]) : await ready.Pre.ProcessAsync(batch[i], cancellationToken).ConfigureAwait(false);
            }

            ready.Runner.Predict(inputs.AsSpan(0, count), outputs.AsSpan(0, count), cancellationToken);
            for (var i = 0; i < count; i++)
            {
                responses[i] = ready.Post is null ? Same<TOutput, TResponse>(outputs[i]) : await ready.Post.ProcessAsync(outputs[i], cancellationToken).ConfigureAwait(false);
            }

            Record(started, Bulk, null, activity, count);
        }
        catch (Exception error)
        {
            Record(started, Bulk, error, activity, count);
            throw;
        }
    }

    private static TInput ToInput(Pipeline ready, TRequest request, CancellationToken cancellationToken) =>
        ready.Pre is null ? Same<TRequest, TInput>(request) : Wait(ready.Pre.ProcessAsync(request, cancellationToken));

    private static TResponse ToResponse(Pipeline ready, TOutput output, CancellationToken cancellationToken) =>
        ready.Post is null ? Same<TOutput, TResponse>(output) : Wait(ready.Post.ProcessAsync(output, cancellationToken));

    /// <summary>
    /// A value passed through unchanged where a model has no handler; <see cref="Start"/> allows that only when the
    /// two types are the same, which makes this a no-op the JIT removes.
    /// </summary>
    private static TTo Same<TFrom, TTo>(TFrom value) => Unsafe.As<TFrom, TTo>(ref value);

    /// <summary>The result of a handler on a synchronous path: free when it completed synchronously, a blocking wait otherwise.</summary>
    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private Pipeline Ready()
    {
        if (pipeline is { } ready) return ready;
        EnsureLoaded();
        return pipeline!;
    }

    private InvalidOperationException WrongHandler(HandlerRegistration registration, string role, string expected) => new(
        $"its {role} {registration.HandlerType.Name} is not an {expected}: a model of {typeof(TRequest).Name} → {typeof(TResponse).Name} over {typeof(TInput).Name} → {typeof(TOutput).Name} needs one.");

    /// <summary>What a ready model calls through; complete before it is published to callers, and never changed after.</summary>
    private sealed class Pipeline(ModelRunner<TInput, TOutput> runner, ModelBatcher<TInput, TOutput> batcher, IPreProcessor<TRequest, TInput>? pre, IPostProcessor<TOutput, TResponse>? post)
    {
        internal ModelRunner<TInput, TOutput> Runner { get; } = runner;

        internal ModelBatcher<TInput, TOutput> Batcher { get; } = batcher;

        internal IPreProcessor<TRequest, TInput>? Pre { get; } = pre;

        internal IPostProcessor<TOutput, TResponse>? Post { get; } = post;

        /// <summary>The middleware chain; null when the model has none.</summary>
        internal ModelCallDelegate<TRequest, TResponse>? Middleware { get; set; }
    }
}
