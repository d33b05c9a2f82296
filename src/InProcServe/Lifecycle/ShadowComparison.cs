namespace InProcServe;

/// <summary>
/// A call and its shadow copy side by side (<c>CompareShadow</c> on the model's builder): the request, the response
/// its caller got, and the response the shadow version computed for the same request.
/// </summary>
/// <typeparam name="TRequest">What callers send.</typeparam>
/// <typeparam name="TResponse">What callers get.</typeparam>
/// <param name="Request">The caller's request.</param>
/// <param name="Response">The response the caller got.</param>
/// <param name="ShadowResponse">The shadow's response to the same request, through the model's post-processor.</param>
/// <param name="Version">The version that answered the caller: the primary, or the canary.</param>
/// <param name="ShadowVersion">The shadow's version.</param>
/// <param name="Agreed">What the comparer said of the two responses; null when <c>CompareShadow</c> was given none.</param>
public readonly record struct ShadowComparison<TRequest, TResponse>(TRequest Request, TResponse Response, TResponse ShadowResponse, long Version, long ShadowVersion, bool? Agreed);
