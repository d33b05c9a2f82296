namespace InProcServe;

/// <summary>
/// Told what a <see cref="BatchQueue{TInput, TOutput}"/> does, for metrics: called on lane workers, once per
/// request taken and once per batch run, so an implementation must be quick, thread-safe and allocation-free.
/// </summary>
internal interface IBatchObserver
{
    /// <summary>A request left the queue for a batch after waiting <paramref name="elapsed"/> <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    void Dequeued(long elapsed);

    /// <summary>A batch of <paramref name="rows"/> requests ran in <paramref name="elapsed"/> <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    void BatchRan(int rows, long elapsed);
}
