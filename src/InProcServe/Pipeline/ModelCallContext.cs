namespace InProcServe;

/// <summary>How a call reaches the model.</summary>
public enum ModelCallMode
{
    /// <summary><see cref="IModel{TRequest, TResponse}.Predict(TRequest, CancellationToken)"/>: on the caller's thread, no queue.</summary>
    Direct,

    /// <summary><see cref="IModel{TRequest, TResponse}.PredictAsync(TRequest, CancellationToken)"/>: through the model's queue, batched with other calls.</summary>
    Queued,
}

/// <summary>One call as middleware sees it. Created per call, and only for models with middleware.</summary>
public sealed class ModelCallContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="modelName">The model called.</param>
    /// <param name="mode">How the call reaches the model.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    public ModelCallContext(string modelName, ModelCallMode mode, CancellationToken cancellationToken)
    {
        ModelName = modelName;
        Mode = mode;
        CancellationToken = cancellationToken;
    }

    /// <summary>The model called.</summary>
    public string ModelName { get; }

    /// <summary>How the call reaches the model.</summary>
    public ModelCallMode Mode { get; }

    /// <summary>The token the rest of the call runs under: the caller's, or one a middleware set (a timeout links its own to it).</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// The version that answered the call (<see cref="HostedModel.Versions"/>): 0 until the model ran, so middleware
    /// reads it after awaiting the next step.
    /// </summary>
    public long Version => Served?.Version ?? 0;

    /// <summary>The version that answered, set by the innermost step.</summary>
    internal ServingVersion? Served { get; set; }
}
