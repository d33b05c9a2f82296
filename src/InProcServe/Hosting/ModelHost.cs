using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InProcServe;

/// <summary>What every hosted model needs from the app: its services, options, lanes, metrics and logger, and the record of which model owns which handler.</summary>
internal sealed class ModelHost(IServiceProvider services, IOptionsMonitor<ModelOptions> options, LaneRegistry lanes, InProcServeMetrics metrics, ILogger logger)
{
    /// <summary>Handler instances by the model that took them (guarded by <see cref="ownersGate"/>).</summary>
    private readonly Dictionary<object, string> owners = new(ReferenceEqualityComparer.Instance);
    private readonly Lock ownersGate = new();

    internal IServiceProvider Services { get; } = services;

    internal IOptionsMonitor<ModelOptions> Options { get; } = options;

    internal LaneRegistry Lanes { get; } = lanes;

    internal InProcServeMetrics Metrics { get; } = metrics;

    internal ILogger Logger { get; } = logger;

    /// <summary>
    /// Gives <paramref name="handler"/> to model <paramref name="model"/>. Handlers may keep per-model state (a
    /// cache, counters), so one instance serving two models would mix them up: like HttpClientFactory's handler
    /// chain, the host refuses it.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another model, or another place in this model's pipeline, has the instance.</exception>
    internal T Claim<T>(T handler, string model, string role)
        where T : class
    {
        lock (ownersGate)
        {
            if (owners.TryGetValue(handler, out var owner))
            {
                var where = owner == model ? $"already in model '{model}''s pipeline" : $"already used by model '{owner}'";
                throw new InvalidOperationException(
                    $"the {role} instance of {handler.GetType().Name} is {where}; a handler instance serves one place in one model. " +
                    $"Register {handler.GetType().Name} as transient (AddPreProcessor, AddPostProcessor and AddMiddleware do, unless it is already registered otherwise), so each model gets its own.");
            }

            owners.Add(handler, model);
            return handler;
        }
    }
}
