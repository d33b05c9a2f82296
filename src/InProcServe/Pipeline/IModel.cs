namespace InProcServe;

/// <summary>
/// A hosted model as its callers see it: send a <typeparamref name="TRequest"/>, get a <typeparamref name="TResponse"/>.
/// Inject it (the first model registered for a contract) or <c>[FromKeyedServices("name")]</c> for a model by name.
/// </summary>
/// <remarks>
/// Every call runs the model's pre-processor, the model and its post-processor on the caller's side; single calls
/// also run its middleware around all of that. A model not loaded yet (no host started it) loads on its first
/// call. Thread-safe.
/// </remarks>
/// <typeparam name="TRequest">What callers send.</typeparam>
/// <typeparam name="TResponse">What callers get.</typeparam>
public interface IModel<TRequest, TResponse>
{
    /// <summary>The model's name: the key it is registered under.</summary>
    string Name { get; }

    /// <summary>
    /// Direct call: runs the model on this request alone, on the caller's thread, with no queue. Lowest latency for
    /// a single caller; concurrent callers each run their own batch of one. A handler that completes asynchronously
    /// blocks the caller until it does.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call, also while ONNX Runtime computes it.</param>
    /// <returns>The response.</returns>
    /// <exception cref="InvalidOperationException">The model failed to load; the message says why.</exception>
    TResponse Predict(TRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queued call: the request waits in the model's bounded queue and runs in a batch with other callers' requests
    /// on the model's lane (<see cref="ModelOptions.Batching"/>). Best throughput under concurrency.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call: while queued the request never runs.</param>
    /// <returns>The response. Await it once.</returns>
    /// <exception cref="QueueFullException">The queue is full and <see cref="BatchingOptions.FullMode"/> is <see cref="QueueFullMode.Reject"/>.</exception>
    /// <exception cref="TimeoutException">The request's deadline passed.</exception>
    /// <exception cref="InvalidOperationException">The model failed to load; the message says why.</exception>
    ValueTask<TResponse> PredictAsync(TRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Bulk call: runs the model over many requests on the caller's thread, in batches of up to
    /// <see cref="BatchingOptions.MaxBatchSize"/>, with no queue: <c>responses[i]</c> answers <c>requests[i]</c>.
    /// Runs the pre- and post-processors per request; middleware, which wraps single calls, does not run.
    /// </summary>
    /// <param name="requests">The requests.</param>
    /// <param name="responses">Receives one response per request; as long as <paramref name="requests"/>.</param>
    /// <param name="cancellationToken">Cancels between batches and during one.</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="InvalidOperationException">The model failed to load; the message says why.</exception>
    void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, CancellationToken cancellationToken = default);

    /// <summary>
    /// Bulk call over a stream: requests are cut into batches of up to <see cref="BatchingOptions.MaxBatchSize"/>
    /// (a batch also closes when the stream has nothing ready), run with no queue, and answered in order.
    /// Runs the pre- and post-processors per request; middleware does not run.
    /// </summary>
    /// <param name="requests">The requests.</param>
    /// <param name="cancellationToken">Cancels the stream.</param>
    /// <returns>One response per request, in the requests' order.</returns>
    IAsyncEnumerable<TResponse> PredictManyAsync(IAsyncEnumerable<TRequest> requests, CancellationToken cancellationToken = default);
}
