using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;

namespace InProcServe;

/// <summary>A model added with <c>AddModel</c>: its name and definition.</summary>
internal sealed record ModelRegistration(string Name, ModelDefinition Definition);

/// <summary>
/// Every hosted model, by name, without their contracts' types: for health checks, the Open Inference Protocol and
/// other code that serves all models alike. The models added with <c>AddModel</c>, then the models served with no C#
/// contract: each <c>InProcServe:Models:&lt;name&gt;</c> section no <c>AddModel</c> call claims, and each model folder
/// of the model repository (<c>InProcServe:ModelRepository</c>), which may come and go while the app runs when the
/// repository is watched. A singleton service; it owns the models and disposes them with the host.
/// </summary>
public sealed class ModelCatalog : IAsyncDisposable, IDisposable
{
    private readonly ModelHost host;
    private readonly Lock gate = new();
    private ModelChangeWatcher? watcher;
    private bool disposed;

    /// <summary>The models now, by name; replaced whole when a repository model comes or goes, so readers never lock.</summary>
    private volatile Dictionary<string, HostedModel> byName;
    private volatile HostedModel[] models;

    internal ModelCatalog(IEnumerable<ModelRegistration> registrations, ModelHost host, IConfiguration? configuration)
    {
        this.host = host;
        var all = registrations.Select(r => r.Definition.Create(r.Name, host)).ToList();
        foreach (var section in configuration?.GetSection($"{ModelConfiguration.Root}:Models").GetChildren() ?? [])
        {
            if (!all.Any(m => m.Name == section.Key) && ModelConfiguration.IsUntypedModel(section)) all.Add(new UntypedModel(section.Key, host, fromRepository: false));
        }

        Repository = ModelRepository.From(configuration);
        foreach (var name in Repository?.ModelNames() ?? [])
        {
            if (!all.Any(m => m.Name == name)) all.Add(new UntypedModel(name, host, fromRepository: true));
        }

        models = [.. all];
        byName = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The models in the order they were added: those of <c>AddModel</c>, then those from configuration, then the repository's.</summary>
    public IReadOnlyList<HostedModel> Models => models;

    /// <summary>The repository the catalog serves, if any.</summary>
    internal ModelRepository? Repository { get; }

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

    /// <summary>The model repository's folder (<c>InProcServe:ModelRepository</c>); null without one.</summary>
    public string? RepositoryPath => Repository?.Path;

    /// <summary>The models the repository holds now: its folders with at least one numbered version, loaded or not.</summary>
    /// <returns>Their names, in order; empty without a repository.</returns>
    public IReadOnlyList<string> ListRepository() => Repository?.ModelNames() ?? [];

    /// <summary>
    /// Loads the repository's model <paramref name="name"/> (Triton's repository "load"): one not served yet joins the
    /// catalog and loads; one served already reloads, picking up the versions its folder holds now.
    /// </summary>
    /// <param name="name">The model's folder in the repository: a name, never a path.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The model, serving.</returns>
    /// <exception cref="InvalidOperationException">There is no repository, the model's name is a model of the app's code, or it failed to load (the message says why; it stays in the catalog, not ready).</exception>
    /// <exception cref="KeyNotFoundException">The repository holds no model folder of that name.</exception>
    public async Task<HostedModel> LoadFromRepositoryAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var repository = Repository ?? throw new InvalidOperationException("There is no model repository: set InProcServe:ModelRepository.");
        if (ModelRepository.ModelFolder(repository.Path, name) is null)
        {
            throw new KeyNotFoundException($"The model repository holds no model '{name}' (a folder with numbered version folders). It holds: {string.Join(", ", repository.ModelNames().Select(n => $"'{n}'"))}.");
        }

        HostedModel model;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (byName.TryGetValue(name, out var existing))
            {
                model = existing is UntypedModel { FromRepository: true }
                    ? existing
                    : throw new InvalidOperationException($"Model '{name}' is a model of the app (AddModel or a configuration section), not of the repository: reload it with ReloadAsync.");
            }
            else
            {
                model = new UntypedModel(name, host, fromRepository: true);
                Publish([.. models, model]);
            }
        }

        // A model not loaded yet, or one whose load failed, loads as at start; one serving reloads.
        await model.ReloadAsync(cancellationToken).ConfigureAwait(false);
        return model;
    }

    /// <summary>
    /// Unloads the repository's model <paramref name="name"/> (Triton's repository "unload"): it leaves the catalog at
    /// once, calls already on it finish, then its versions are released. Its folder stays; loading it again serves it again.
    /// </summary>
    /// <param name="name">The model's name.</param>
    /// <returns>A task that completes once the model's calls finished and its versions were released.</returns>
    /// <exception cref="KeyNotFoundException">No repository model of that name is served.</exception>
    /// <exception cref="InvalidOperationException">The model is a model of the app's code or configuration, which stays.</exception>
    public async Task UnloadFromRepositoryAsync(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        HostedModel model;
        lock (gate)
        {
            if (!byName.TryGetValue(name, out var found)) throw new KeyNotFoundException($"No repository model named '{name}' is served.");
            model = found is UntypedModel { FromRepository: true }
                ? found
                : throw new InvalidOperationException($"Model '{name}' is a model of the app (AddModel or a configuration section), not of the repository; it can't be unloaded.");
            Publish([.. models.Where(m => m != model)]);
        }

        Log.RepositoryModelRemoved(host.Logger, name);
        await model.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops every model: queued calls fail, running batches finish, sessions are released.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (gate)
        {
            disposed = true;
            watcher?.Dispose();
        }

        foreach (var model in models) await model.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>As <see cref="DisposeAsync"/>, waiting for running batches on this thread.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Watches the repository for model folders that come and go, when it asks to be watched; after the first load.</summary>
    internal void WatchRepository()
    {
        if (Repository is not { Watch: true } repository) return;
        lock (gate)
        {
            if (disposed || watcher is not null) return;
            try
            {
                watcher = new ModelChangeWatcher(repository.Path, new ModelOptions().WatchQuietPeriod, SyncRepositoryAsync);
            }
            catch (Exception error) when (error is IOException or ArgumentException or UnauthorizedAccessException)
            {
                Log.WatchNotStarted(host.Logger, "(repository)", repository.Path, error);
            }
        }
    }

    /// <summary>
    /// Loads the repository's new model folders and unloads the models whose folder left: a model that fails to load
    /// is added all the same, not ready, with its cause, unless the repository is strict. Calls already on a model that
    /// leaves finish first.
    /// </summary>
    internal async Task SyncRepositoryAsync()
    {
        if (Repository is not { } repository) return;
        var present = repository.ModelNames();
        List<HostedModel> added = [];
        List<HostedModel> removed = [];
        lock (gate)
        {
            if (disposed) return;
            foreach (var name in present.Where(n => !byName.ContainsKey(n))) added.Add(new UntypedModel(name, host, fromRepository: true));
            removed.AddRange(models.Where(m => m is UntypedModel { FromRepository: true } && !present.Contains(m.Name)));
            if (added.Count == 0 && removed.Count == 0) return;
            Publish([.. models.Except(removed).Concat(added)]);
        }

        foreach (var model in added) LoadRepositoryModel(model);
        foreach (var model in removed)
        {
            Log.RepositoryModelRemoved(host.Logger, model.Name);
            await model.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Loads a model the repository gained; a failure leaves it not ready, with its cause, and is logged.</summary>
    private void LoadRepositoryModel(HostedModel model)
    {
        try
        {
            model.Load(CancellationToken.None);
        }
        catch (Exception error)
        {
            // A strict repository fails the start; a model that comes later can only be reported.
            Log.RepositoryModelFailed(host.Logger, model.Name, error);
        }
    }

    /// <summary>Makes <paramref name="next"/> the catalog's models, in one write each for the list and the index; under <see cref="gate"/>.</summary>
    private void Publish(HostedModel[] next)
    {
        models = next;
        byName = next.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    private string Missing(string name) =>
        $"No model named '{name}' is registered{(models.Length == 0 ? "" : $" (models: {string.Join(", ", models.Select(m => $"'{m.Name}'"))})")}: " +
        $"add services.AddModel<TDefinition>(\"{name}\"), or services.AddModel<{name}>() for a definition class named {name}.";
}
