namespace InProcServe;

/// <summary>
/// Gives each call a deadline: the rest of the call runs under a token that fires when it passes, so a queued
/// request leaves the queue and a running direct call is terminated, and the caller gets a <see cref="TimeoutException"/>.
/// </summary>
internal sealed class TimeoutMiddleware<TRequest, TResponse>(TimeSpan timeout) : IModelMiddleware<TRequest, TResponse>
{
    public async ValueTask<TResponse> InvokeAsync(TRequest request, ModelCallContext context, ModelCallDelegate<TRequest, TResponse> next)
    {
        var caller = context.CancellationToken;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(caller);
        deadline.CancelAfter(timeout);
        context.CancellationToken = deadline.Token;
        try
        {
            return await next(request, context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !caller.IsCancellationRequested)
        {
            throw new TimeoutException($"Model '{context.ModelName}': the call passed its timeout of {timeout.TotalMilliseconds:0.###} ms.");
        }
        finally
        {
            context.CancellationToken = caller;
        }
    }
}

/// <summary>Creates a <see cref="TimeoutMiddleware{TRequest, TResponse}"/> of the model's types when it loads.</summary>
internal sealed class TimeoutRegistration(TimeSpan timeout) : MiddlewareRegistration
{
    internal override IModelMiddleware<TRequest, TResponse> Create<TRequest, TResponse>(IServiceProvider services, string modelName, InProcServeMetrics metrics) =>
        new TimeoutMiddleware<TRequest, TResponse>(timeout);
}
