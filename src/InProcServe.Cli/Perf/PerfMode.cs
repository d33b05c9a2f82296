namespace InProcServe.Cli.Perf;

/// <summary>How perf calls the model.</summary>
internal enum PerfMode
{
    /// <summary>Each caller runs its request on its own thread over tensors bound once (<see cref="ModelSession.Bind"/>), outputs preallocated: the direct path.</summary>
    Direct,

    /// <summary>
    /// Each caller awaits <see cref="ExecutionLane.RunAsync"/>: the request waits its turn on a lane's workers, and requests waiting together
    /// are joined along the batch dimension when the model batches.
    /// </summary>
    Queued,

    /// <summary>Each caller's request of <c>--batch</c> rows is cut into runs of at most <c>--max-batch-size</c> rows on its thread, as bulk calls are.</summary>
    Bulk,
}
