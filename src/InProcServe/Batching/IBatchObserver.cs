namespace InProcServe;

/// <summary>
/// Told what a <see cref="BatchQueue{TInput, TOutput}"/> does, for metrics: called on lane workers, once per
/// request taken and once per batch run, so an implementation must be quick, thread-safe and allocation-free.
/// </summary>
internal interface IBatchObserver
{
    /// <summary>
    /// Whether <see cref="Dequeued"/> wants each request's wait now (someone listens to it): when not, and nothing
    /// else needs the time a request was queued (a MaxDelay, a deadline), queuing skips reading the clock.
    /// </summary>
    bool TimesQueue { get; }

    /// <summary>
    /// A request left the queue for a batch after waiting <paramref name="elapsed"/> <see cref="System.Diagnostics.Stopwatch"/>
    /// ticks; not called for requests queued while <see cref="TimesQueue"/> was false.
    /// </summary>
    void Dequeued(long elapsed);

    /// <summary>A batch of <paramref name="rows"/> requests ran in <paramref name="elapsed"/> <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    void BatchRan(int rows, long elapsed);
}
