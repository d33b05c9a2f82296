using InProcServe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds two-phase (cascade) prediction over two models.</summary>
public static class CascadeServiceCollectionExtensions
{
    /// <summary>
    /// Adds a cascade named <paramref name="name"/>, an <see cref="IModel{TRequest, TResponse}"/> keyed by that name:
    /// each request runs on the model <paramref name="light"/>, and when <paramref name="escalate"/> calls its response
    /// uncertain, on the model <paramref name="heavy"/>, whose response is returned instead. Both models are added with
    /// <c>AddModel</c> (before or after this call) with this contract, and keep their own batching and handlers.
    /// Calls and escalations are counted in <c>inprocserve.cascade.requests</c> and <c>inprocserve.cascade.escalations</c>.
    /// </summary>
    /// <typeparam name="TRequest">What callers send; both models take it.</typeparam>
    /// <typeparam name="TResponse">What callers get; both models give it.</typeparam>
    /// <param name="services">The app's services.</param>
    /// <param name="name">The cascade's name, its service key; it can't be a model's name.</param>
    /// <param name="light">The name of the model every request runs on.</param>
    /// <param name="heavy">The name of the model uncertain requests run on.</param>
    /// <param name="escalate">Whether a light response is uncertain enough to ask the heavy model; called on the caller's side.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">A model or another cascade already has <paramref name="name"/>.</exception>
    public static IServiceCollection AddCascade<TRequest, TResponse>(this IServiceCollection services, string name, string light, string heavy, Func<TResponse, bool> escalate)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(light);
        ArgumentException.ThrowIfNullOrWhiteSpace(heavy);
        ArgumentNullException.ThrowIfNull(escalate);
        ModelServiceCollectionExtensions.AddCore(services);
        CascadeRegistration.ThrowIfTaken(services, name);
        services.AddSingleton(new CascadeRegistration(name));
        services.AddKeyedSingleton<IModel<TRequest, TResponse>>(name, (provider, _) =>
        {
            var catalog = provider.GetRequiredService<ModelCatalog>();
            return new CascadeModel<TRequest, TResponse>(name, catalog.GetModel<TRequest, TResponse>(light), catalog.GetModel<TRequest, TResponse>(heavy), escalate, provider.GetRequiredService<InProcServeMetrics>());
        });
        return services;
    }
}
