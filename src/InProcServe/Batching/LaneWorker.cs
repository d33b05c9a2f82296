namespace InProcServe;

/// <summary>
/// What one lane worker thread keeps from batch to batch: run options that terminate the batch in flight
/// once every request in it was canceled, and the count of requests still waiting for its results.
/// </summary>
/// <remarks>
/// Requests call <see cref="Abandon"/> from their cancellation callbacks on any thread. The count carries the
/// batch's generation, so a cancellation that arrives late, after its batch was over, can't count against the
/// next one; terminating is decided under a lock with the worker's <see cref="running"/> flag, so the run options
/// are never touched once the worker left the run.
/// </remarks>
internal sealed class LaneWorker : IDisposable
{
    private readonly Lock gate = new();
    private readonly RunControl control = new();

    /// <summary>The batch's generation (high 32 bits) and how many of its requests still want its results (low 32 bits).</summary>
    private long state;

    private bool running;

    /// <summary>The run options of every run on this worker.</summary>
    internal RunControl Control => control;

    /// <summary>Starts collecting a batch.</summary>
    internal void Begin()
    {
        Volatile.Write(ref state, ((state >> 32) + 1) << 32);
        running = false;
    }

    /// <summary>Counts a request that joins the batch, before it can be canceled as running.</summary>
    /// <returns>The batch's generation, to pass to <see cref="Abandon"/>.</returns>
    internal int Join() => (int)(Interlocked.Increment(ref state) >> 32);

    /// <summary>A request of batch <paramref name="generation"/> was canceled or timed out: it no longer wants the results.</summary>
    internal void Abandon(int generation)
    {
        long current, next;
        do
        {
            current = Volatile.Read(ref state);
            if ((int)(current >> 32) != generation) return;
            next = current - 1;
        }
        while (Interlocked.CompareExchange(ref state, next, current) != current);

        if ((int)next == 0)
        {
            lock (gate)
            {
                if (running && !control.IsTerminated)
                {
                    control.Terminate();
                }
            }
        }
    }

    /// <summary>Marks the run as started; false when every request was abandoned already, so the run is skipped.</summary>
    internal bool Start()
    {
        lock (gate)
        {
            running = (int)Volatile.Read(ref state) > 0;
            return running;
        }
    }

    /// <summary>Marks the run as over; resets the run options if it was terminated.</summary>
    internal void End()
    {
        lock (gate)
        {
            running = false;
        }

        control.Reset();
    }

    public void Dispose() => control.Dispose();
}
