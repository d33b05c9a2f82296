namespace InProcServe;

/// <summary>
/// How a <see cref="ModelBatcher{TInput, TOutput}"/> queues requests and cuts them into batches. Every property
/// has a documented default; the values are checked, all at once, when the batcher is created.
/// </summary>
public sealed class BatchingOptions
{
    /// <summary>The most requests one run takes. Default: 64. A model whose batch dimension is fixed at 1 runs one at a time.</summary>
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>
    /// How long the oldest queued request may wait for others to join its batch. Default: zero, which runs
    /// whatever is queued as soon as a worker is free (batches still grow under load, while workers are busy).
    /// A longer delay buys larger batches at the price of latency; it is honored to the microsecond.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.Zero;

    /// <summary>The most requests waiting in the queue. Default: 1024.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>What a call does when the queue is full. Default: <see cref="QueueFullMode.Wait"/>.</summary>
    public QueueFullMode FullMode { get; set; } = QueueFullMode.Wait;

    /// <summary>
    /// The deadline of a request that names none, counted from the call: a request still queued then completes
    /// with <see cref="TimeoutException"/> and never runs. Default: null, no deadline.
    /// </summary>
    public TimeSpan? DefaultTimeout { get; set; }

    /// <summary>
    /// The model's weight on a shared <see cref="ExecutionLane"/>: how many batches in a row it may run while
    /// other models wait their turn. Default: 1, plain round-robin. Every model gets a turn, whatever the weights.
    /// </summary>
    public int Priority { get; set; } = 1;

    /// <summary>A copy, so a batcher keeps the values it was created with.</summary>
    internal BatchingOptions Clone() => (BatchingOptions)MemberwiseClone();

    /// <summary>Throws one exception that names every invalid value.</summary>
    internal void Validate(string modelName)
    {
        var errors = new List<string>();
        AddErrors(errors);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Model '{modelName}': invalid batching options:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", errors)}", "options");
        }
    }

    /// <summary>Adds a line to <paramref name="errors"/> for every invalid value.</summary>
    internal void AddErrors(List<string> errors)
    {
        if (MaxBatchSize < 1) errors.Add($"{nameof(MaxBatchSize)} is {MaxBatchSize}; it must be 1 or more.");
        if (MaxDelay < TimeSpan.Zero) errors.Add($"{nameof(MaxDelay)} is {MaxDelay}; it must be zero or more.");
        if (MaxDelay > TimeSpan.FromSeconds(10)) errors.Add($"{nameof(MaxDelay)} is {MaxDelay}; it must be at most 10 s.");
        if (QueueCapacity < 1) errors.Add($"{nameof(QueueCapacity)} is {QueueCapacity}; it must be 1 or more.");
        if (!Enum.IsDefined(FullMode)) errors.Add($"{nameof(FullMode)} is {(int)FullMode}; it must be one of {string.Join(", ", Enum.GetNames<QueueFullMode>())}.");
        if (DefaultTimeout is { } timeout && timeout <= TimeSpan.Zero) errors.Add($"{nameof(DefaultTimeout)} is {timeout}; it must be positive, or null for no deadline.");
        if (Priority is < 1 or > 100) errors.Add($"{nameof(Priority)} is {Priority}; it must be from 1 to 100.");
    }
}
