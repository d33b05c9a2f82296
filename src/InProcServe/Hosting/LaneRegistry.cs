using Microsoft.Extensions.Options;

namespace InProcServe;

/// <summary>The host's execution lanes by name, created when the first model on each loads and disposed with the host.</summary>
internal sealed class LaneRegistry(IOptionsMonitor<LaneOptions> options) : IDisposable
{
    private readonly Dictionary<string, ExecutionLane> lanes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock gate = new();
    private bool disposed;

    internal ExecutionLane Get(string name)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (!lanes.TryGetValue(name, out var lane))
            {
                var settings = options.Get(name);
                if (settings.Workers < 0)
                {
                    throw new InvalidOperationException($"Lane '{name}': Workers is {settings.Workers}; it must be 0 (one per two processors) or more. Set InProcServe:Lanes:{name}:Workers or services.ConfigureLane(\"{name}\", …).");
                }

                if (settings.IdleSpin < TimeSpan.Zero || settings.IdleSpin > ExecutionLane.MaxIdleSpin)
                {
                    throw new InvalidOperationException($"Lane '{name}': IdleSpin is {settings.IdleSpin}; it must be from 0 to {ExecutionLane.MaxIdleSpin.TotalMilliseconds:0} ms. Set InProcServe:Lanes:{name}:IdleSpin or services.ConfigureLane(\"{name}\", …).");
                }

                lanes.Add(name, lane = new ExecutionLane(name, settings.Workers, settings.IdleSpin));
            }

            return lane;
        }
    }

    /// <summary>Disposes the lanes; the catalog, created after this registry, has already disposed the models on them.</summary>
    public void Dispose()
    {
        ExecutionLane[] all;
        lock (gate)
        {
            disposed = true;
            all = [.. lanes.Values];
            lanes.Clear();
        }

        foreach (var lane in all) lane.Dispose();
    }
}
