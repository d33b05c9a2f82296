namespace InProcServe;

/// <summary>
/// The copies of calls one shadow setting (<see cref="HostedModel.SetShadowAsync"/>) sends to its version: which calls
/// are copied, how many copies may be in flight at once, and when the last one finished once the shadow stopped.
/// Published in a <see cref="VersionRouting"/>; a new share, or a new shadow, is a new instance.
/// </summary>
/// <remarks>
/// Copies in flight are bounded by the shadow's queue capacity: a copy queued, running or being compared holds a place,
/// and a call that finds every place taken is not copied. Only copies enter the shadow's queue (the shadow is never
/// the primary or the canary), so the queue never fills and a copy never waits for a place.
/// </remarks>
internal sealed class ShadowTraffic
{
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int capacity;

    /// <summary>The setting's own place while it is on, plus one per copy in flight. 0 means stopped and drained; it never rises again.</summary>
    private int places = 1;

    /// <summary>1 once <see cref="StopAsync"/> gave up the setting's own place.</summary>
    private int stopped;

    internal ShadowTraffic(ServingVersion version, double percent)
    {
        Version = version;
        Percent = percent;
        capacity = version.QueueCapacity;
    }

    /// <summary>The version that gets the copies.</summary>
    internal ServingVersion Version { get; }

    /// <summary>The share of calls copied, in percent, from 0 to 100.</summary>
    internal double Percent { get; }

    /// <summary>Whether this call is copied: a draw against <see cref="Percent"/>.</summary>
    internal bool Sample() => Percent > 0 && (Percent >= 100 || Random.Shared.NextDouble() * 100 < Percent);

    /// <summary>
    /// Takes a place for one copy and a lease on <see cref="Version"/>, so a swap lets the copy finish before the
    /// version is released. False when every place is taken (<paramref name="full"/>: the copy is dropped), or when
    /// the shadow stopped or its version left (no copy, and nothing to count).
    /// </summary>
    internal bool TryStart(out bool full)
    {
        full = false;
        var count = Volatile.Read(ref places);
        while (count > 0)
        {
            if (count > capacity)
            {
                full = true;
                return false;
            }

            var seen = Interlocked.CompareExchange(ref places, count + 1, count);
            if (seen == count)
            {
                if (Version.TryAcquire()) return true;
                Finish();
                return false;
            }

            count = seen;
        }

        return false;
    }

    /// <summary>Gives back a copy's place, once it is counted and compared; its version's lease is given back apart, as soon as the shadow answered.</summary>
    internal void Finish()
    {
        if (Interlocked.Decrement(ref places) == 0) drained.TrySetResult();
    }

    /// <summary>Takes no more copies; completes once the copies in flight finished. Call it after the routing that published this left, so no call reads it anew.</summary>
    internal Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 0) Finish();
        return drained.Task;
    }
}
