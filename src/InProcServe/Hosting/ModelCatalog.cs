using System.Diagnostics.CodeAnalysis;

namespace InProcServe;

/// <summary>A model added with <c>AddModel</c>: its name and definition.</summary>
internal sealed record ModelRegistration(string Name, ModelDefinition Definition);

/// <summary>
/// Every hosted model, by name, without their contracts' types: for health checks, the Open Inference Protocol and
/// other code that serves all models alike. A singleton service; it owns the models and disposes them with the host.
/// </summary>
public sealed class ModelCatalog : IAsyncDisposable, IDisposable
{
    private readonly Dictionary<string, HostedModel> byName;

    internal ModelCatalog(IEnumerable<ModelRegistration> registrations, ModelHost host)
    {
        Models = registrations.Select(r => r.Definition.Create(r.Name, host)).ToArray();
        byName = Models.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The models in the order they were added.</summary>
    public IReadOnlyList<HostedModel> Models { get; }

    /// <summary>The model named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No model has that name; the message lists the registered ones and the call to add.</exception>
    public HostedModel this[string name] =>
        TryGetModel(name, out var model) ? model : throw new KeyNotFoundException(Missing(name));

    /// <summary>Finds a model by name.</summary>
    /// <param name="name">The model's name (case-sensitive).</param>
    /// <param name="model">The model, when found.</param>
    /// <returns>Whether a model has that name.</returns>
    public bool TryGetModel(string name, [NotNullWhen(true)] out HostedModel? model) => byName.TryGetValue(name, out model);

    /// <summary>The typed handle of the model named <paramref name="name"/>.</summary>
    /// <typeparam name="TRequest">What the model's callers send.</typeparam>
    /// <typeparam name="TResponse">What they get.</typeparam>
    /// <exception cref="KeyNotFoundException">No model has that name.</exception>
    /// <exception cref="InvalidOperationException">The model's contract has other types; the message names both.</exception>
    public IModel<TRequest, TResponse> GetModel<TRequest, TResponse>(string name)
    {
        var model = this[name];
        return model as IModel<TRequest, TResponse> ?? throw new InvalidOperationException(
            $"Model '{name}' takes {model.RequestType.Name} requests and gives {model.ResponseType.Name} responses, not {typeof(TRequest).Name} → {typeof(TResponse).Name}: " +
            $"ask for IModel<{model.RequestType.Name}, {model.ResponseType.Name}>, or add a model of {typeof(TRequest).Name} → {typeof(TResponse).Name} under another name.");
    }

    /// <summary>Stops every model: queued calls fail, running batches finish, sessions are released.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var model in Models) await model.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>As <see cref="DisposeAsync"/>, waiting for running batches on this thread.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private string Missing(string name) =>
        $"No model named '{name}' is registered{(Models.Count == 0 ? "" : $" (models: {string.Join(", ", Models.Select(m => $"'{m.Name}'"))})")}: " +
        $"add services.AddModel<TDefinition>(\"{name}\"), or services.AddModel<{name}>() for a definition class named {name}.";
}
