using InProcServe;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds InProcServe models to an app's services.</summary>
public static class ModelServiceCollectionExtensions
{
    /// <summary>
    /// Adds the model <typeparamref name="TDefinition"/> defines, named <paramref name="name"/>: its typed handle
    /// <see cref="IModel{TRequest, TResponse}"/> (keyed by name, and unkeyed for the first model of its contract), its
    /// named <see cref="ModelOptions"/> (bound from <c>InProcServe:Models:&lt;name&gt;</c> and validated on start), and,
    /// once for all models, the <see cref="ModelCatalog"/>, the lanes, the metrics and the hosted service that loads
    /// and warms the models at start. Nothing is loaded here.
    /// </summary>
    /// <typeparam name="TDefinition">The model's definition.</typeparam>
    /// <param name="services">The app's services.</param>
    /// <param name="name">The model's name. Default: null, the definition's type name (e.g. "Fraud").</param>
    /// <returns>A builder to configure the model with. Adding the same definition under the same name again returns a builder for the same model.</returns>
    /// <exception cref="InvalidOperationException">Another definition already uses <paramref name="name"/>, or a cascade does.</exception>
    public static IModelBuilder AddModel<TDefinition>(this IServiceCollection services, string? name = null)
        where TDefinition : ModelDefinition, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        name ??= typeof(TDefinition).Name;
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        AddCore(services);

        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType != typeof(ModelRegistration) || descriptor.ImplementationInstance is not ModelRegistration existing || existing.Name != name) continue;
            if (existing.Definition is TDefinition) return new ModelBuilder(name, services);
            throw new InvalidOperationException(
                $"A model named '{name}' is already added with the definition {existing.Definition.GetType().Name}; {typeof(TDefinition).Name} needs another name: services.AddModel<{typeof(TDefinition).Name}>(\"another-name\").");
        }

        CascadeRegistration.ThrowIfTaken(services, name);
        var definition = new TDefinition();
        services.AddSingleton(new ModelRegistration(name, definition));
        services.Configure<ModelOptions>(name, options =>
        {
            options.Name = name;
            definition.ApplyDefaults(options);
        });
        services.AddOptions<ModelOptions>(name).ValidateOnStart();
        definition.AddServices(services, name);
        return new ModelBuilder(name, services);
    }

    /// <summary>Configures the lane named <paramref name="name"/>, which the host creates when the first model on it loads (<see cref="ModelOptions.Lane"/>).</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="name">The lane's name, such as "cpu" (the default lane) or "gpu0".</param>
    /// <param name="configure">Sets the lane's options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection ConfigureLane(this IServiceCollection services, string name, Action<LaneOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(services);
        return services.Configure(name, configure);
    }

    /// <summary>
    /// Adds what every model shares (the catalog, lanes, metrics, the warm-up at start), and so serves the models that
    /// need no C# contract: each <c>InProcServe:Models:&lt;name&gt;</c> section with a <c>Path</c> or a <c>Folder</c>
    /// that no <c>AddModel</c> call claims, and each model folder of <c>InProcServe:ModelRepository</c> (see
    /// <see cref="ModelCatalog"/>), loaded when the host starts and called untyped (<see cref="HostedModel.RunAsync"/>).
    /// <c>AddModel</c> calls it; call it yourself for an app with no typed model. Idempotent.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddInProcServe(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddCore(services);
        return services;
    }

    /// <summary>The services every model shares; idempotent.</summary>
    internal static void AddCore(IServiceCollection services)
    {
        // AddMetrics is not idempotent (each call adds an options configuration), so the core is added once, marked by ModelHost.
        if (services.Any(d => d.ServiceType == typeof(ModelHost))) return;
        services.AddOptions();
        services.AddMetrics();
        // Remote models call their servers through IHttpClientFactory (a named client each); AddHttpClient is idempotent.
        services.AddHttpClient();
        services.TryAddSingleton<InProcServeMetrics>(provider => new InProcServeMetrics(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<LaneRegistry>(provider => new LaneRegistry(provider.GetRequiredService<IOptionsMonitor<LaneOptions>>()));
        services.TryAddSingleton<ModelHost>(provider => new ModelHost(
            provider,
            provider.GetRequiredService<IOptionsMonitor<ModelOptions>>(),
            provider.GetRequiredService<LaneRegistry>(),
            provider.GetRequiredService<InProcServeMetrics>(),
            (provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("InProcServe")));
        services.TryAddSingleton<ModelCatalog>(provider => new ModelCatalog(provider.GetServices<ModelRegistration>(), provider.GetRequiredService<ModelHost>(), provider.GetService<Configuration.IConfiguration>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ModelWarmUpService>(provider => new ModelWarmUpService(provider.GetRequiredService<ModelCatalog>(), provider.GetRequiredService<ModelHost>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelOptions>, ModelOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<ModelOptions>, ModelConfiguration>(provider => new ModelConfiguration(provider.GetService<Configuration.IConfiguration>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<LaneOptions>, ModelConfiguration>(provider => new ModelConfiguration(provider.GetService<Configuration.IConfiguration>())));
        services.TryAdd(ServiceDescriptor.Singleton(typeof(IModel<,>), typeof(MissingModel<,>)));
        services.TryAdd(ServiceDescriptor.KeyedSingleton(typeof(IModel<,>), KeyedService.AnyKey, typeof(MissingKeyedModel<,>)));
    }
}
