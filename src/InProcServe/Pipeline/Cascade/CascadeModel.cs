using System.Buffers;
using System.Runtime.CompilerServices;

namespace InProcServe;

/// <summary>
/// Two models behind one handle: every request runs on the light model, and only those whose light response the
/// predicate calls uncertain run on the heavy one, whose response then replaces the light one. Each model keeps its
/// own queue, batching and handlers; escalations are counted in <c>inprocserve.cascade.escalations</c>.
/// </summary>
internal sealed class CascadeModel<TRequest, TResponse>(string name, IModel<TRequest, TResponse> light, IModel<TRequest, TResponse> heavy, Func<TResponse, bool> escalate, InProcServeMetrics metrics)
    : IModel<TRequest, TResponse>
{
    /// <summary>The most requests of a stream that run through the cascade together (each model cuts them into its own batches).</summary>
    private const int StreamBatch = 256;

    private readonly KeyValuePair<string, object?> cascadeTag = new(InProcServeMetrics.CascadeTag, name);

    public string Name { get; } = name;

    public TResponse Predict(TRequest request, CancellationToken cancellationToken = default)
    {
        var response = light.Predict(request, cancellationToken);
        return Escalates(response) ? heavy.Predict(request, cancellationToken) : response;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TResponse> PredictAsync(TRequest request, CancellationToken cancellationToken = default)
    {
        var response = await light.PredictAsync(request, cancellationToken).ConfigureAwait(false);
        return Escalates(response) ? await heavy.PredictAsync(request, cancellationToken).ConfigureAwait(false) : response;
    }

    public void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, CancellationToken cancellationToken = default)
    {
        light.Predict(requests, responses, cancellationToken);
        var escalated = ArrayPool<int>.Shared.Rent(Math.Max(requests.Length, 1));
        var count = 0;
        for (var i = 0; i < responses.Length; i++)
        {
            if (escalate(responses[i])) escalated[count++] = i;
        }

        metrics.CascadeRequests.Add(requests.Length, cascadeTag);
        if (count == 0)
        {
            ArrayPool<int>.Shared.Return(escalated);
            return;
        }

        metrics.CascadeEscalations.Add(count, cascadeTag);
        var heavyRequests = ArrayPool<TRequest>.Shared.Rent(count);
        var heavyResponses = ArrayPool<TResponse>.Shared.Rent(count);
        try
        {
            for (var i = 0; i < count; i++) heavyRequests[i] = requests[escalated[i]];
            heavy.Predict(heavyRequests.AsSpan(0, count), heavyResponses.AsSpan(0, count), cancellationToken);
            for (var i = 0; i < count; i++) responses[escalated[i]] = heavyResponses[i];
        }
        finally
        {
            ArrayPool<int>.Shared.Return(escalated);
            ArrayPool<TRequest>.Shared.Return(heavyRequests, RuntimeHelpers.IsReferenceOrContainsReferences<TRequest>());
            ArrayPool<TResponse>.Shared.Return(heavyResponses, RuntimeHelpers.IsReferenceOrContainsReferences<TResponse>());
        }
    }

    public async IAsyncEnumerable<TResponse> PredictManyAsync(IAsyncEnumerable<TRequest> requests, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var responses = new TResponse[StreamBatch];
        await foreach (var batch in StreamBatches.ReadAsync(requests, StreamBatch, cancellationToken).ConfigureAwait(false))
        {
            Predict(batch, responses.AsSpan(0, batch.Count), cancellationToken);
            for (var i = 0; i < batch.Count; i++) yield return responses[i];
        }
    }

    private bool Escalates(TResponse response)
    {
        metrics.CascadeRequests.Add(1, cascadeTag);
        if (!escalate(response)) return false;
        metrics.CascadeEscalations.Add(1, cascadeTag);
        return true;
    }
}
