using System.Diagnostics;

namespace InProcServe;

/// <summary>
/// Answers a request equal to a recent one (by <see cref="EqualityComparer{T}.Default"/>: value equality for
/// records) from memory, without running the model. Bounded, least recently used out first; lookups are counted by
/// result in <c>inprocserve.response_cache.lookups</c>. Concurrent misses for one request each run the model.
/// </summary>
internal sealed class ResponseCacheMiddleware<TRequest, TResponse>(int capacity, TimeSpan? timeToLive, KeyValuePair<string, object?> modelTag, InProcServeMetrics metrics)
    : IModelMiddleware<TRequest, TResponse>
{
    private static readonly KeyValuePair<string, object?> Hit = new(InProcServeMetrics.ResultTag, "hit");
    private static readonly KeyValuePair<string, object?> Miss = new(InProcServeMetrics.ResultTag, "miss");

    private readonly Dictionary<Key, LinkedListNode<Entry>> entries = new(capacity);

    /// <summary>Most recently used first (guarded by <see cref="gate"/>, as is <see cref="entries"/>).</summary>
    private readonly LinkedList<Entry> recency = new();
    private readonly Lock gate = new();
    private readonly long lifetime = timeToLive is { } ttl ? (long)(ttl.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;

    public async ValueTask<TResponse> InvokeAsync(TRequest request, ModelCallContext context, ModelCallDelegate<TRequest, TResponse> next)
    {
        var key = new Key(request);
        if (TryGet(key, out var cached))
        {
            metrics.CacheLookups.Add(1, modelTag, Hit);
            return cached;
        }

        metrics.CacheLookups.Add(1, modelTag, Miss);
        var response = await next(request, context).ConfigureAwait(false);
        Add(key, response);
        return response;
    }

    private bool TryGet(Key key, out TResponse response)
    {
        lock (gate)
        {
            if (entries.TryGetValue(key, out var node))
            {
                if (Stopwatch.GetTimestamp() - node.Value.AddedAt < lifetime)
                {
                    recency.Remove(node);
                    recency.AddFirst(node);
                    response = node.Value.Response;
                    return true;
                }

                entries.Remove(key);
                recency.Remove(node);
            }
        }

        response = default!;
        return false;
    }

    private void Add(Key key, TResponse response)
    {
        lock (gate)
        {
            if (entries.TryGetValue(key, out var existing))
            {
                recency.Remove(existing);
            }
            else if (entries.Count >= capacity)
            {
                var oldest = recency.Last!;
                recency.RemoveLast();
                entries.Remove(oldest.Value.Key);
            }

            entries[key] = recency.AddFirst(new Entry(key, response, Stopwatch.GetTimestamp()));
        }
    }

    /// <summary>Wraps the request so any request type, nullable ones included, can key a dictionary.</summary>
    private readonly record struct Key(TRequest Request);

    private sealed record Entry(Key Key, TResponse Response, long AddedAt);
}

/// <summary>Creates a <see cref="ResponseCacheMiddleware{TRequest, TResponse}"/> of the model's types when it loads.</summary>
internal sealed class ResponseCacheRegistration(ResponseCacheOptions options) : MiddlewareRegistration
{
    internal override IModelMiddleware<TRequest, TResponse> Create<TRequest, TResponse>(IServiceProvider services, string modelName, InProcServeMetrics metrics) =>
        new ResponseCacheMiddleware<TRequest, TResponse>(options.Capacity, options.TimeToLive, new(InProcServeMetrics.ModelTag, modelName), metrics);
}
