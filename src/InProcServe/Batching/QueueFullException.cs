namespace InProcServe;

/// <summary>
/// A queued call was refused because its model's queue was full and the model's
/// <see cref="BatchingOptions.FullMode"/> is <see cref="QueueFullMode.Reject"/>. Nothing ran; retrying later may succeed.
/// </summary>
public sealed class QueueFullException : Exception
{
    /// <summary>Creates the exception for a model whose queue of <paramref name="capacity"/> requests was full.</summary>
    /// <param name="modelName">The model.</param>
    /// <param name="capacity">The queue's capacity.</param>
    public QueueFullException(string modelName, int capacity)
        : base($"Model '{modelName}': the queue is full ({capacity} requests waiting); the request was rejected. Retry later, or raise {nameof(BatchingOptions)}.{nameof(BatchingOptions.QueueCapacity)}.")
    {
        ModelName = modelName;
        Capacity = capacity;
    }

    /// <summary>The model whose queue was full.</summary>
    public string ModelName { get; }

    /// <summary>The queue's capacity.</summary>
    public int Capacity { get; }
}
