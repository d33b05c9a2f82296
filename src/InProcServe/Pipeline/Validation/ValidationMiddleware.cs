namespace InProcServe;

/// <summary>Refuses a request its validator finds a problem with, before it reaches the pre-processor or the queue.</summary>
internal sealed class ValidationMiddleware<TRequest, TResponse>(Func<TRequest, string?> validate) : IModelMiddleware<TRequest, TResponse>
{
    public ValueTask<TResponse> InvokeAsync(TRequest request, ModelCallContext context, ModelCallDelegate<TRequest, TResponse> next) =>
        validate(request) is { } problem
            ? ValueTask.FromException<TResponse>(new ArgumentException($"Model '{context.ModelName}': invalid request: {problem}", nameof(request)))
            : next(request, context);
}

/// <summary>Creates a <see cref="ValidationMiddleware{TRequest, TResponse}"/> when the model loads, if its requests are <typeparamref name="TValidated"/>.</summary>
internal sealed class ValidationRegistration<TValidated>(Func<TValidated, string?> validate) : MiddlewareRegistration
{
    internal override IModelMiddleware<TRequest, TResponse> Create<TRequest, TResponse>(IServiceProvider services, string modelName, InProcServeMetrics metrics) =>
        validate is Func<TRequest, string?> typed
            ? new ValidationMiddleware<TRequest, TResponse>(typed)
            : throw new InvalidOperationException($"its validation takes {typeof(TValidated).Name}, but the model's requests are {typeof(TRequest).Name}: validate {typeof(TRequest).Name}.");
}
