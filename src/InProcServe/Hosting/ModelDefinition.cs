using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace InProcServe;

/// <summary>
/// Names a model's contract for hosting. Derive a sealed class from
/// <see cref="ModelDefinition{TRequest, TInput, TOutput, TResponse}"/> (with a pre- and a post-processor) or
/// <see cref="ModelDefinition{TInput, TOutput}"/> (without), and register it with
/// <c>services.AddModel&lt;TDefinition&gt;()</c>.
/// </summary>
/// <remarks>
/// The generic base classes carry the contract's types, so registering, loading and calling a model needs no
/// reflection: the host asks the definition to do the typed work. A definition holds no state; one instance
/// serves every model registered with it.
/// </remarks>
public abstract class ModelDefinition
{
    private protected ModelDefinition()
    {
    }

    /// <summary>
    /// Sets this model's defaults, such as its file, before the builder's calls and configuration apply theirs.
    /// Default: sets nothing.
    /// </summary>
    /// <param name="options">The options of the model being configured (its name is <see cref="ModelOptions.Name"/>).</param>
    protected virtual void Configure(ModelOptions options)
    {
    }

    /// <summary>Applies <see cref="Configure"/>, for the host.</summary>
    internal void ApplyDefaults(ModelOptions options) => Configure(options);

    /// <summary>The request type callers send.</summary>
    internal abstract Type RequestType { get; }

    /// <summary>The response type callers get.</summary>
    internal abstract Type ResponseType { get; }

    /// <summary>Registers the typed handles (<see cref="IModel{TRequest, TResponse}"/>, <see cref="IVersionedModel{TRequest, TResponse}"/>) of a model named <paramref name="name"/>: keyed by its name, and as the default for its contract when it is the first.</summary>
    internal abstract void AddServices(IServiceCollection services, string name);

    /// <summary>Creates the (not yet loaded) model named <paramref name="name"/>.</summary>
    internal abstract HostedModel Create(string name, ModelHost host);

    /// <summary>
    /// Calls <paramref name="visitor"/> with the contract's request and response types as type arguments: how code that
    /// serves any model (the web package's <c>MapModel</c>) builds typed code for a definition without reflection, so it
    /// stays trimmable and AOT-compatible.
    /// </summary>
    /// <typeparam name="TResult">What the visitor returns.</typeparam>
    /// <param name="visitor">The typed work.</param>
    /// <returns>What <paramref name="visitor"/> returned.</returns>
    public abstract TResult Accept<TResult>(IModelDefinitionVisitor<TResult> visitor);
}

/// <summary>Does typed work for a <see cref="ModelDefinition"/> whose types are known only to the definition.</summary>
/// <typeparam name="TResult">What the work returns.</typeparam>
public interface IModelDefinitionVisitor<TResult>
{
    /// <summary>Does the work for a model whose callers send <typeparamref name="TRequest"/> and get <typeparamref name="TResponse"/>.</summary>
    /// <typeparam name="TRequest">What the model's callers send.</typeparam>
    /// <typeparam name="TResponse">What they get.</typeparam>
    /// <returns>The work's result.</returns>
    TResult Visit<TRequest, TResponse>();
}

/// <summary>
/// A model whose callers send <typeparamref name="TRequest"/> and get <typeparamref name="TResponse"/>: a
/// pre-processor turns the request into the model's <typeparamref name="TInput"/>, and a post-processor turns its
/// <typeparamref name="TOutput"/> into the response.
/// </summary>
/// <typeparam name="TRequest">What callers send.</typeparam>
/// <typeparam name="TInput">The model's input record (marked <see cref="ModelInputAttribute"/>).</typeparam>
/// <typeparam name="TOutput">The model's output record (marked <see cref="ModelOutputAttribute"/>).</typeparam>
/// <typeparam name="TResponse">What callers get.</typeparam>
/// <remarks>
/// A pre-processor (<see cref="IPreProcessor{TRequest, TInput}"/>) is required unless the request is the input,
/// and a post-processor (<see cref="IPostProcessor{TOutput, TResponse}"/>) unless the response is the output;
/// a missing one fails the model's load with a message naming the call to add.
/// </remarks>
public abstract class ModelDefinition<TRequest, TInput, TOutput, TResponse> : ModelDefinition
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    /// <summary>Creates the definition; <c>AddModel</c> does, once per registration.</summary>
    protected ModelDefinition()
    {
    }

    internal override Type RequestType => typeof(TRequest);

    internal override Type ResponseType => typeof(TResponse);

    internal override void AddServices(IServiceCollection services, string name)
    {
        services.AddKeyedSingleton<IModel<TRequest, TResponse>>(name, static (provider, key) => provider.GetRequiredService<ModelCatalog>().GetModel<TRequest, TResponse>((string)key!));
        services.TryAddSingleton<IModel<TRequest, TResponse>>(provider => provider.GetRequiredService<ModelCatalog>().GetModel<TRequest, TResponse>(name));
        services.AddKeyedSingleton<IVersionedModel<TRequest, TResponse>>(name, static (provider, key) => (IVersionedModel<TRequest, TResponse>)provider.GetRequiredService<ModelCatalog>().GetModel<TRequest, TResponse>((string)key!));
        services.TryAddSingleton<IVersionedModel<TRequest, TResponse>>(provider => (IVersionedModel<TRequest, TResponse>)provider.GetRequiredService<ModelCatalog>().GetModel<TRequest, TResponse>(name));
    }

    internal override HostedModel Create(string name, ModelHost host) => new HostedModel<TRequest, TInput, TOutput, TResponse>(name, this, host);

    /// <inheritdoc/>
    public override TResult Accept<TResult>(IModelDefinitionVisitor<TResult> visitor) => visitor.Visit<TRequest, TResponse>();
}

/// <summary>A model called with its own input and output records, with no pre- or post-processor.</summary>
/// <typeparam name="TInput">The model's input record (marked <see cref="ModelInputAttribute"/>), also the request.</typeparam>
/// <typeparam name="TOutput">The model's output record (marked <see cref="ModelOutputAttribute"/>), also the response.</typeparam>
public abstract class ModelDefinition<TInput, TOutput> : ModelDefinition<TInput, TInput, TOutput, TOutput>
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    /// <summary>Creates the definition; <c>AddModel</c> does, once per registration.</summary>
    protected ModelDefinition()
    {
    }
}
