using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace InProcServe;

/// <summary>
/// Loads, binds and warms every hosted model while the host starts, before the app reports ready: a required
/// model that fails stops the start with a message naming it (all failures at once); an optional one is logged
/// and reports Unhealthy.
/// </summary>
internal sealed class ModelWarmUpService(ModelCatalog catalog, ModelHost host) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var failures = new List<Exception>();
        foreach (var model in catalog.Models)
        {
            try
            {
                model.Load(cancellationToken);
            }
            catch (Exception error) when (model.IsOptional)
            {
                Log.OptionalModelLoadFailed(host.Logger, model.Name, error);
            }
            catch (Exception error)
            {
                Log.ModelLoadFailed(host.Logger, model.Name, error);
                failures.Add(error);
            }
        }

        if (failures.Count == 1) throw failures[0];
        if (failures.Count > 1)
        {
            throw new AggregateException($"{failures.Count} models failed to load:{Environment.NewLine}" + string.Join(Environment.NewLine, failures.Select(f => "  - " + f.Message)), failures);
        }

        catalog.WatchRepository();
        Log.ModelsReady(host.Logger, catalog.Models.Count(m => m.State == ModelState.Ready), clock.Elapsed.TotalMilliseconds);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
