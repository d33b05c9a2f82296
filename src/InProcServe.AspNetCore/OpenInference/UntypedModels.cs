using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InProcServe.AspNetCore;

/// <summary>
/// Models served with no C# contract, from configuration alone: each <c>InProcServe:Models:&lt;name&gt;</c> section
/// with a <c>Path</c> that no <c>AddModel</c> call claims, and each model folder under
/// <c>InProcServe:ModelRepository</c> (the Triton layout: <c>&lt;repository&gt;/&lt;name&gt;/&lt;version&gt;/model.onnx</c>,
/// every version served). Loaded when the host starts, on the lane their options name; a model that fails to load
/// fails start-up unless it is <c>Optional</c>.
/// </summary>
internal sealed partial class UntypedModels(IConfiguration configuration, ModelCatalog catalog, IOptionsMonitor<ModelOptions> options, LaneRegistry lanes, ILogger<UntypedModels> logger)
    : IHostedService, IDisposable
{
    private readonly List<UntypedModel> models = [];

    internal IReadOnlyList<UntypedModel> Models => models;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var section in configuration.GetSection("InProcServe:Models").GetChildren())
        {
            if (catalog.TryGetModel(section.Key, out _) || section["Path"] is null) continue;
            var model = options.Get(section.Key);
            Load(section.Key, model, [(null, model.Path!)]);
        }

        if (configuration["InProcServe:ModelRepository"] is { Length: > 0 } repository)
        {
            if (!Directory.Exists(repository))
            {
                throw new DirectoryNotFoundException($"InProcServe:ModelRepository is '{Path.GetFullPath(repository)}', which does not exist; it should hold one folder per model, each with numbered version folders.");
            }

            foreach (var folder in Directory.EnumerateDirectories(repository).Order())
            {
                var name = Path.GetFileName(folder);
                if (catalog.TryGetModel(name, out _) || models.Any(m => m.Name == name)) continue;
                var versions = VersionFolder.Scan(folder, VersionPolicy.LatestN(int.MaxValue));
                if (versions.Count == 0) continue;
                Load(name, options.Get(name), versions.Select(v => ((long?)v.Version, v.Path)).ToList());
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var model in models)
        {
            foreach (var session in model.Versions.Values) session.Dispose();
        }
    }

    private void Load(string name, ModelOptions model, IReadOnlyList<(long? Version, string Path)> files)
    {
        var versions = new SortedDictionary<long, ModelSession>();
        try
        {
            foreach (var (version, path) in files)
            {
                var session = ModelSession.Load(path, CopyWithName(model.Session, name));
                versions[version ?? session.Metadata.Version] = session;
            }

            models.Add(new UntypedModel(name, versions, lanes.Get(model.Lane)));
            LogLoaded(logger, name, string.Join(", ", versions.Keys));
        }
        catch (Exception error) when (model.Optional)
        {
            foreach (var session in versions.Values) session.Dispose();
            LogOptionalFailed(logger, name, error);
        }
        catch
        {
            foreach (var session in versions.Values) session.Dispose();
            throw;
        }
    }

    private static ModelSessionOptions CopyWithName(ModelSessionOptions options, string name)
    {
        var copy = options.Clone();
        copy.Name = name;
        return copy;
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Model '{Model}' (no C# contract) loaded from configuration, version {Versions}; served through the Open Inference Protocol.")]
    private static partial void LogLoaded(ILogger logger, string model, string versions);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Optional model '{Model}' (no C# contract) failed to load; it is not served.")]
    private static partial void LogOptionalFailed(ILogger logger, string model, Exception error);
}

/// <summary>A model served from configuration: its loaded versions and its lane.</summary>
internal sealed record UntypedModel(string Name, SortedDictionary<long, ModelSession> Versions, ExecutionLane Lane);
