namespace InProcServe;

/// <summary>A response and the model version that answered it.</summary>
/// <typeparam name="TResponse">What callers get.</typeparam>
/// <param name="Response">The response.</param>
/// <param name="Version">The version that computed it (<see cref="HostedModel.Versions"/>); 0 when middleware answered without running the model (a cache hit).</param>
public readonly record struct VersionedResponse<TResponse>(TResponse Response, long Version);

/// <summary>
/// A hosted model whose callers can learn which version answered each call: the primary, or a canary
/// (<see cref="HostedModel.SetCanaryAsync"/>). Inject it like <see cref="IModel{TRequest, TResponse}"/> (default or
/// keyed by the model's name). The same version is also the <c>inprocserve.model.version</c> tag of the call's
/// metrics and activity, and <see cref="ModelCallContext.Version"/> for middleware.
/// </summary>
/// <typeparam name="TRequest">What callers send.</typeparam>
/// <typeparam name="TResponse">What callers get.</typeparam>
public interface IVersionedModel<TRequest, TResponse> : IModel<TRequest, TResponse>
{
    /// <summary>As <see cref="IModel{TRequest, TResponse}.Predict(TRequest, CancellationToken)"/> (direct call), with the version that answered.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call, also while ONNX Runtime computes it.</param>
    /// <returns>The response and its version.</returns>
    /// <exception cref="InvalidOperationException">The model failed to load; the message says why.</exception>
    VersionedResponse<TResponse> PredictWithVersion(TRequest request, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="IModel{TRequest, TResponse}.PredictAsync(TRequest, CancellationToken)"/> (queued call), with the version that answered.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call: while queued the request never runs.</param>
    /// <returns>The response and its version. Await it once.</returns>
    /// <exception cref="QueueFullException">The queue is full and <see cref="BatchingOptions.FullMode"/> is <see cref="QueueFullMode.Reject"/>.</exception>
    /// <exception cref="TimeoutException">The request's deadline passed.</exception>
    /// <exception cref="InvalidOperationException">The model failed to load; the message says why.</exception>
    ValueTask<VersionedResponse<TResponse>> PredictWithVersionAsync(TRequest request, CancellationToken cancellationToken = default);
}
