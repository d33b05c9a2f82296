using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace InProcServe;

/// <summary>
/// The health of the models served with no C# contract (from configuration and the model repository), as one check:
/// Healthy when every one serves; Degraded when an optional one (a repository model, unless the repository is strict)
/// failed to load or is still loading, naming each and why; the check's failure status when a required one failed.
/// </summary>
internal sealed class UntypedModelsHealthCheck(ModelCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var models = catalog.Models.OfType<UntypedModel>().ToArray();
        var data = new Dictionary<string, object>();
        var failed = false;
        foreach (var model in models.Where(m => m.State != ModelState.Ready))
        {
            data[model.Name] = model.LoadError is { } error ? $"load failed: {error.Message}" : "not loaded yet";
            failed |= model.State == ModelState.Failed && !model.IsOptional;
        }

        var serving = models.Length - data.Count;
        var result = data.Count == 0
            ? HealthCheckResult.Healthy($"{models.Length} models from configuration serve.", data)
            : new HealthCheckResult(
                failed ? context.Registration.FailureStatus : HealthStatus.Degraded,
                $"{data.Count} of {models.Length} models from configuration don't serve ({string.Join("; ", data.Select(d => $"'{d.Key}': {d.Value}"))}); {serving} serve.",
                data: data);
        return Task.FromResult(result);
    }
}
