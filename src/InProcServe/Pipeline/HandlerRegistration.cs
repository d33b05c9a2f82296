using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe;

/// <summary>A pre- or post-processor added to a model: its type, for messages, and how to get it from the services.</summary>
internal sealed class HandlerRegistration(Type handlerType, Func<IServiceProvider, object> create)
{
    internal Type HandlerType { get; } = handlerType;

    internal object Create(IServiceProvider services) => create(services);

    internal static HandlerRegistration FromServices<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>()
        where THandler : class =>
        new(typeof(THandler), static services => services.GetRequiredService<THandler>());
}

/// <summary>
/// Middleware added to a model. Builder extensions don't know the model's request and response types; the model
/// does, and asks the registration for a middleware of its types when it loads (a generic method call, no reflection).
/// </summary>
internal abstract class MiddlewareRegistration
{

    /// <summary>Creates the middleware for model <paramref name="modelName"/>.</summary>
    /// <exception cref="InvalidOperationException">The middleware doesn't fit the model's request and response types.</exception>
    internal abstract IModelMiddleware<TRequest, TResponse> Create<TRequest, TResponse>(IServiceProvider services, string modelName, InProcServeMetrics metrics);
}

/// <summary>Middleware of a type of the app's, resolved from the services.</summary>
internal sealed class ServiceMiddlewareRegistration<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TMiddleware> : MiddlewareRegistration
    where TMiddleware : class
{
    internal override IModelMiddleware<TRequest, TResponse> Create<TRequest, TResponse>(IServiceProvider services, string modelName, InProcServeMetrics metrics) =>
        services.GetRequiredService<TMiddleware>() as IModelMiddleware<TRequest, TResponse>
        ?? throw new InvalidOperationException(
            $"the middleware {typeof(TMiddleware).Name} is not an IModelMiddleware<{typeof(TRequest).Name}, {typeof(TResponse).Name}>, " +
            $"but the model takes {typeof(TRequest).Name} requests and gives {typeof(TResponse).Name} responses: implement that interface, or add the middleware to a model of its types.");
}
