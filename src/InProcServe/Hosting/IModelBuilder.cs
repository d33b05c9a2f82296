using Microsoft.Extensions.DependencyInjection;

namespace InProcServe;

/// <summary>
/// Configures one hosted model: returned by <c>services.AddModel&lt;TDefinition&gt;()</c>. Its extension methods
/// record configuration in the model's named <see cref="ModelOptions"/>; nothing is loaded until the host starts.
/// </summary>
public interface IModelBuilder
{
    /// <summary>The model's name: its key for <c>[FromKeyedServices]</c>, its options and its configuration section <c>InProcServe:Models:&lt;Name&gt;</c>.</summary>
    string Name { get; }

    /// <summary>The services the model is registered in.</summary>
    IServiceCollection Services { get; }
}

/// <summary>The builder <c>AddModel</c> returns.</summary>
internal sealed class ModelBuilder(string name, IServiceCollection services) : IModelBuilder
{
    public string Name { get; } = name;

    public IServiceCollection Services { get; } = services;
}
