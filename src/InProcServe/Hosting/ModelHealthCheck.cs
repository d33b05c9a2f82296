using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace InProcServe;

/// <summary>
/// One model's health: Healthy when loaded and warmed, Degraded when its queue is at least
/// <see cref="DegradedQueueFill"/> full or its last reload failed (an older version serves), Unhealthy before it is
/// ready or when its load failed. A remote model (<see cref="ModelOptions.Remote"/>) asks its replicas whether the model is
/// ready there: Unhealthy when none is, Degraded when some are not. The cause is in the description and in <c>data["cause"]</c>; the exception is not
/// attached, since the health check service logs an attached exception, stack trace and all, at every probe, while
/// the failed load was logged once when it happened.
/// </summary>
internal sealed class ModelHealthCheck(ModelCatalog catalog, string name) : IHealthCheck
{
    /// <summary>The share of the queue's capacity from which the model reports Degraded: callers are about to wait or be rejected.</summary>
    internal const double DegradedQueueFill = 0.8;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var model = catalog[name];
        return model.State switch
        {
            ModelState.NotLoaded => new HealthCheckResult(context.Registration.FailureStatus, $"Model '{name}' is not loaded yet.", data: Cause("not loaded yet")),
            ModelState.Failed => new HealthCheckResult(context.Registration.FailureStatus, $"Model '{name}' failed to load: {model.LoadError!.Message}", data: Cause($"load failed: {model.LoadError!.Message}")),
            _ => model.Remote is { } remote ? await RemoteAsync(model, remote, context, cancellationToken).ConfigureAwait(false) : Ready(model),
        };
    }

    /// <summary>A ready remote model's health: its replicas' readiness first, then what <see cref="Ready"/> says of the queue.</summary>
    private static async Task<HealthCheckResult> RemoteAsync(HostedModel model, RemoteModel remote, HealthCheckContext context, CancellationToken cancellationToken)
    {
        var probes = await remote.ProbeAsync(cancellationToken).ConfigureAwait(false);
        var down = probes.Where(p => p.NotReady is not null).Select(p => $"{p.Url}: {p.NotReady}").ToArray();
        if (down.Length == 0) return Ready(model);
        var data = new Dictionary<string, object>
        {
            ["version"] = model.Version,
            ["replicas"] = probes.Length,
            ["replicasReady"] = probes.Length - down.Length,
            ["cause"] = $"{down.Length} of {probes.Length} replicas not ready: {string.Join("; ", down)}",
        };
        return down.Length == probes.Length
            ? new HealthCheckResult(context.Registration.FailureStatus, $"Model '{model.Name}': no replica of the remote model is ready: {string.Join("; ", down)}", data: data)
            : HealthCheckResult.Degraded($"Model '{model.Name}': {down.Length} of {probes.Length} replicas of the remote model are not ready, the others take the calls: {string.Join("; ", down)}", data: data);
    }

    private static Dictionary<string, object> Cause(string cause) => new() { ["cause"] = cause };

    private static HealthCheckResult Ready(HostedModel model)
    {
        var length = model.QueueLength;
        var capacity = model.QueueCapacity;
        var data = new Dictionary<string, object>
        {
            ["version"] = model.Version,
            ["versions"] = model.Versions,
            ["queueLength"] = length,
            ["queueCapacity"] = capacity,
        };
        if (model.ReloadError is { } error)
        {
            data["cause"] = $"reload failed, version {model.Version} serves: {error.Message}";
            return HealthCheckResult.Degraded($"Model '{model.Name}': the last reload failed, so version {model.Version} goes on serving: {error.Message}", data: data);
        }

        if (length >= capacity * DegradedQueueFill)
        {
            data["cause"] = $"queue {length} of {capacity} places taken";
            return HealthCheckResult.Degraded($"Model '{model.Name}': {length} of {capacity} queue places taken.", data: data);
        }

        return HealthCheckResult.Healthy($"Model '{model.Name}' is ready.", data);
    }
}
