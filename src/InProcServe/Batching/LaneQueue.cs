namespace InProcServe;

/// <summary>What an <see cref="ExecutionLane"/> schedules: one model's queue of requests, cut into batches.</summary>
internal abstract class LaneQueue
{
    /// <summary>Batches in a row this queue may run before the next queue's turn (its priority).</summary>
    internal abstract int Weight { get; }

    /// <summary>Batches run in a row in the current turn; the lane's scheduler state, guarded by its lock.</summary>
    internal int Turns { get; set; }

    /// <summary>
    /// Whether a batch should run now: the queue holds a full batch, or its oldest request has waited the
    /// maximum delay. When not, <paramref name="readyAt"/> is the timestamp at which it will be
    /// (<see cref="long.MaxValue"/> for an empty queue).
    /// </summary>
    internal abstract bool IsReady(long now, out long readyAt);

    /// <summary>Takes up to one batch of requests, runs it on the calling worker and completes its requests.</summary>
    internal abstract void RunBatch(LaneWorker worker);

    /// <summary>Fails every queued request with <paramref name="reason"/>: the lane is gone.</summary>
    internal abstract void Abort(ObjectDisposedException reason);
}
