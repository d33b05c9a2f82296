namespace InProcServe;

/// <summary>The rest of a model call after a middleware: later middleware, the pre-processor, the model and the post-processor.</summary>
/// <typeparam name="TRequest">What callers send.</typeparam>
/// <typeparam name="TResponse">What callers get.</typeparam>
/// <param name="request">The request to pass on.</param>
/// <param name="context">The call's context.</param>
/// <returns>The response.</returns>
public delegate ValueTask<TResponse> ModelCallDelegate<TRequest, TResponse>(TRequest request, ModelCallContext context);

/// <summary>
/// Wraps every single call of a model (direct and queued; bulk calls skip middleware): may answer without calling
/// <c>next</c> (a cache), refuse the request (validation), or change how the rest runs (a timeout). Added with
/// <c>.AddMiddleware&lt;T&gt;()</c>; the first added is the outermost. Runs on the caller's side.
/// </summary>
/// <remarks>One instance serves one model: the host rejects an instance that two models would share.</remarks>
/// <typeparam name="TRequest">What callers send.</typeparam>
/// <typeparam name="TResponse">What callers get.</typeparam>
public interface IModelMiddleware<TRequest, TResponse>
{
    /// <summary>Handles one call.</summary>
    /// <param name="request">The caller's request.</param>
    /// <param name="context">The call's model, mode and token; a middleware may replace the token for the rest of the call.</param>
    /// <param name="next">The rest of the call.</param>
    /// <returns>The response.</returns>
    ValueTask<TResponse> InvokeAsync(TRequest request, ModelCallContext context, ModelCallDelegate<TRequest, TResponse> next);
}
