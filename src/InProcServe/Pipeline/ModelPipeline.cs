using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace InProcServe;

/// <summary>
/// The one call pipeline of a typed model: request → pre-processor → pick and lease a version → run inline (direct,
/// bulk) or queued → release → post-processor → record, with the model's middleware around single calls and a copy to
/// the shadow after them. Single calls go through <see cref="CallAsync"/>, batches of rows (bulk and stream calls)
/// through <see cref="RunRowsAsync"/>; nothing else runs the model.
/// </summary>
/// <remarks>
/// A single call without middleware is one pooled async step that measures, runs and shapes its answer, so each answer
/// resumes one state machine, not one per layer (measured: three layers ran hosted calls at 0.4–0.5× the bare
/// batcher's throughput). A direct call is the same step completing synchronously: no allocation, no thread hop.
/// </remarks>
internal sealed class ModelPipeline<TRequest, TInput, TOutput, TResponse>
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    private readonly string name;
    private readonly ModelVersions versions;
    private readonly CallRecorder recorder;
    private readonly ILogger logger;
    private readonly InProcServeMetrics metrics;
    private readonly KeyValuePair<string, object?> modelTag;
    private readonly IPreProcessor<TRequest, TInput>? pre;
    private readonly IPostProcessor<TOutput, TResponse>? post;

    /// <summary>The call's canary routing key (<c>RouteCanaryBy</c>); null routes at random.</summary>
    private readonly Func<TRequest, string?>? key;

    /// <summary>How a call's response is compared with its shadow copy's (<c>CompareShadow</c>); null copies stop at the model's output.</summary>
    private readonly ShadowComparer<TRequest, TResponse>? comparer;

    /// <summary>The middleware chain, outermost first; null without middleware, so plain calls allocate no context.</summary>
    private readonly ModelCallDelegate<TRequest, TResponse>? chain;

    internal ModelPipeline(string name, ModelVersions versions, CallRecorder recorder, ILogger logger, InProcServeMetrics metrics, KeyValuePair<string, object?> modelTag, IPreProcessor<TRequest, TInput>? pre, IPostProcessor<TOutput, TResponse>? post, Func<TRequest, string?>? key, ShadowComparer<TRequest, TResponse>? comparer, IModelMiddleware<TRequest, TResponse>[] middleware)
    {
        this.name = name;
        this.versions = versions;
        this.recorder = recorder;
        this.logger = logger;
        this.metrics = metrics;
        this.modelTag = modelTag;
        this.pre = pre;
        this.post = post;
        this.key = key;
        this.comparer = comparer;
        chain = Chain(middleware);
    }

    /// <summary>One call, direct or queued, through the middleware when the model has some; <paramref name="result"/> shapes the answer.</summary>
    internal ValueTask<TResult> CallAsync<TResult>(TRequest request, ModelCallMode mode, CancellationToken cancellationToken, Func<TResponse, long, TResult> result) =>
        chain is null
            ? RunOne(request, mode, cancellationToken, null, result)
            : ThroughMiddleware(request, mode, cancellationToken, result);

    /// <summary>
    /// Rows of a bulk call, in batches of at most <paramref name="batchSize"/> rows: each batch is one
    /// <see cref="RunRowsAsync"/>, waited for on the caller's thread (free when the handlers complete synchronously).
    /// </summary>
    internal void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, int batchSize, CancellationToken cancellationToken)
    {
        var size = Math.Min(batchSize, Math.Max(requests.Length, 1));
        var batch = ArrayPool<TRequest>.Shared.Rent(size);
        var inputs = ArrayPool<TInput>.Shared.Rent(size);
        var outputs = ArrayPool<TOutput>.Shared.Rent(size);
        var answers = ArrayPool<TResponse>.Shared.Rent(size);
        try
        {
            for (var start = 0; start < requests.Length; start += size)
            {
                var rows = Math.Min(size, requests.Length - start);
                requests.Slice(start, rows).CopyTo(batch);
                Wait(RunRowsAsync(new ArraySegment<TRequest>(batch, 0, rows), inputs, outputs, answers, cancellationToken));
                answers.AsSpan(0, rows).CopyTo(responses[start..]);
            }
        }
        finally
        {
            ArrayPool<TRequest>.Shared.Return(batch, RuntimeHelpers.IsReferenceOrContainsReferences<TRequest>());
            ArrayPool<TInput>.Shared.Return(inputs, RuntimeHelpers.IsReferenceOrContainsReferences<TInput>());
            ArrayPool<TOutput>.Shared.Return(outputs, RuntimeHelpers.IsReferenceOrContainsReferences<TOutput>());
            ArrayPool<TResponse>.Shared.Return(answers, RuntimeHelpers.IsReferenceOrContainsReferences<TResponse>());
        }
    }

    /// <summary>A stream of requests, answered in order, in batches of what has arrived (at most <paramref name="batchSize"/> rows).</summary>
    internal async IAsyncEnumerable<TResponse> PredictManyAsync(IAsyncEnumerable<TRequest> requests, int batchSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var inputs = new TInput[batchSize];
        var outputs = new TOutput[batchSize];
        var responses = new TResponse[batchSize];
        await foreach (var batch in StreamBatches.ReadAsync(requests, batchSize, cancellationToken).ConfigureAwait(false))
        {
            await RunRowsAsync(batch, inputs, outputs, responses, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++) yield return responses[i];
        }
    }

    /// <summary>
    /// The batch step: every row pre-processed, one lease (a long bulk call moves to a new version between batches,
    /// never within one), one run of the version's runner, every row post-processed, and the rows recorded as one
    /// bulk call. Bulk rows are not copied to the shadow: their batches would flood its queue.
    /// </summary>
    internal async ValueTask RunRowsAsync(ArraySegment<TRequest> requests, TInput[] inputs, TOutput[] outputs, TResponse[] responses, CancellationToken cancellationToken)
    {
        var count = requests.Count;
        var started = recorder.Timestamp();
        using var activity = recorder.StartActivity(CallRecorder.Bulk);
        ServingVersion? served = null;
        try
        {
            for (var i = 0; i < count; i++)
            {
                inputs[i] = pre is null ? Same<TRequest, TInput>(requests[i]) : await pre.ProcessAsync(requests[i], cancellationToken).ConfigureAwait(false);
            }

            served = versions.Lease<TRequest>(null, default!);
            try
            {
                var version = Contract(served);
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
                responses[i] = post is null ? Same<TOutput, TResponse>(outputs[i]) : await post.ProcessAsync(outputs[i], cancellationToken).ConfigureAwait(false);
            }

            recorder.Record(started, CallRecorder.Bulk, null, activity, served, count);
        }
        catch (Exception error)
        {
            recorder.Record(started, CallRecorder.Bulk, error, activity, served, count);
            throw;
        }
    }

    /// <summary>The result of a step on a synchronous path: free when it completed synchronously, a blocking wait otherwise.</summary>
    internal static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask task)
    {
        if (task.IsCompletedSuccessfully) return;
        task.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// The single-call step: the version is picked, and leased, once the request is processed and until the model
    /// answered, inline for a direct call or through the version's batcher for a queued one. Measured and recorded here,
    /// unless it runs under middleware (<paramref name="context"/>), which is recorded around the chain and told the version.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResult> RunOne<TResult>(TRequest request, ModelCallMode mode, CancellationToken cancellationToken, ModelCallContext? context, Func<TResponse, long, TResult> result)
    {
        var record = context is null;
        var modeName = mode == ModelCallMode.Direct ? CallRecorder.Direct : CallRecorder.Queued;
        var started = record ? recorder.Timestamp() : 0;
        using var activity = record ? recorder.StartActivity(modeName) : null;
        ServingVersion? served = null;
        try
        {
            var input = pre is null ? Same<TRequest, TInput>(request) : await pre.ProcessAsync(request, cancellationToken).ConfigureAwait(false);
            served = versions.Lease(key, request);
            context?.Served = served;
            TOutput output;
            try
            {
                var version = Contract(served);
                output = mode == ModelCallMode.Direct
                    ? version.Runner.Predict(input, cancellationToken)
                    : await version.Batcher.PredictAsync(input, cancellationToken).ConfigureAwait(false);
                version.TypedMonitor?.Observe(input, output);
            }
            finally
            {
                served.Release();
            }

            var response = post is null ? Same<TOutput, TResponse>(output) : await post.ProcessAsync(output, cancellationToken).ConfigureAwait(false);
            CopyToShadow(request, input, response, served);
            if (record) recorder.Record(started, modeName, null, activity, served);
            return result(response, served.Version);
        }
        catch (Exception error) when (record)
        {
            recorder.Record(started, modeName, error, activity, served);
            throw;
        }
    }

    /// <summary>A single call under middleware: the chain runs it, and it is recorded around the chain.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResult> ThroughMiddleware<TResult>(TRequest request, ModelCallMode mode, CancellationToken cancellationToken, Func<TResponse, long, TResult> result)
    {
        var modeName = mode == ModelCallMode.Direct ? CallRecorder.Direct : CallRecorder.Queued;
        var started = recorder.Timestamp();
        using var activity = recorder.StartActivity(modeName);
        var context = new ModelCallContext(name, mode, cancellationToken);
        try
        {
            var response = await chain!(request, context).ConfigureAwait(false);
            recorder.Record(started, modeName, null, activity, context.Served);
            // A middleware that answered itself (a cache hit) leaves no version: 0.
            return result(response, context.Served?.Version ?? 0);
        }
        catch (Exception error)
        {
            recorder.Record(started, modeName, error, activity, context.Served);
            throw;
        }
    }

    private ModelCallDelegate<TRequest, TResponse>? Chain(IModelMiddleware<TRequest, TResponse>[] middleware)
    {
        if (middleware.Length == 0) return null;
        ModelCallDelegate<TRequest, TResponse> next = Innermost;
        for (var i = middleware.Length - 1; i >= 0; i--)
        {
            var handler = middleware[i];
            var inner = next;
            next = (request, context) => handler.InvokeAsync(request, context, inner);
        }

        return next;
    }

    /// <summary>The innermost step of a call under middleware: runs it and tells the context which version answered.</summary>
    private ValueTask<TResponse> Innermost(TRequest request, ModelCallContext context) =>
        RunOne(request, context.Mode, context.CancellationToken, context, static (response, _) => response);

    /// <summary>Sends a copy of a call that <paramref name="served"/> answered to the shadow, when there is one and the call is picked.</summary>
    private void CopyToShadow(TRequest request, TInput input, TResponse response, ServingVersion served)
    {
        if (versions.StartShadowCopy() is not { } shadow) return;
        if (ExecutionContext.IsFlowSuppressed())
        {
            _ = CopyAsync(shadow, request, input, response, served.Version);
            return;
        }

        // The copy outlives the call: it must not carry the call's AsyncLocal values (an HttpContext, a scope) along.
        using (ExecutionContext.SuppressFlow())
        {
            _ = CopyAsync(shadow, request, input, response, served.Version);
        }
    }

    /// <summary>
    /// One copy: queued on the shadow's batcher, post-processed and compared when the model compares its shadow, then
    /// counted. Never throws: what fails is logged and counted.
    /// </summary>
    private async Task CopyAsync(ShadowTraffic shadow, TRequest request, TInput input, TResponse response, long version)
    {
        var outcome = "ok";
        try
        {
            TOutput output;
            try
            {
                var copyVersion = Contract(shadow.Version);
                output = await copyVersion.Batcher.PredictAsync(input).ConfigureAwait(false);
                copyVersion.TypedMonitor?.Observe(input, output);
            }
            finally
            {
                shadow.Version.Release();
            }

            if (comparer is not null)
            {
                var shadowResponse = post is null ? Same<TOutput, TResponse>(output) : await post.ProcessAsync(output, CancellationToken.None).ConfigureAwait(false);
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
            Log.ShadowCallFailed(logger, name, shadow.Version.Version, version, error);
        }
        finally
        {
            versions.RecordShadow(shadow, outcome);
            shadow.Finish();
        }
    }

    /// <summary>Runs the model's shadow comparison on one copy and counts a disagreement; false, and logged, when it threw.</summary>
    private bool Compare(ShadowComparer<TRequest, TResponse> compare, TRequest request, TResponse response, TResponse shadowResponse, long version, ServingVersion shadow)
    {
        try
        {
            var agreed = compare.Agree?.Invoke(response, shadowResponse);
            if (agreed == false) metrics.ShadowDisagreements.Add(1, modelTag, shadow.Tag);
            compare.OnCompared?.Invoke(new(request, response, shadowResponse, version, shadow.Version, agreed));
            return true;
        }
        catch (Exception error)
        {
            Log.ShadowComparisonFailed(logger, name, version, shadow.Version, error);
            return false;
        }
    }

    /// <summary>
    /// A value passed through unchanged where a model has no handler; the hosted model allows that only when the two
    /// types are the same, which makes this a no-op the JIT removes.
    /// </summary>
    private static TTo Same<TFrom, TTo>(TFrom value) => Unsafe.As<TFrom, TTo>(ref value);

    /// <summary>A version of this contract: every version a typed model publishes is one.</summary>
    private static ContractVersion<TInput, TOutput> Contract(ServingVersion version) => (ContractVersion<TInput, TOutput>)version;
}
