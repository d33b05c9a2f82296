using System.Diagnostics;

namespace InProcServe;

/// <summary>
/// The places in one model's queue: taken with one compare-exchange while there is room, so the hot path takes
/// no lock; only callers that find the queue full (<see cref="QueueFullMode.Wait"/>) wait, on a semaphore that
/// freed places signal while someone waits.
/// </summary>
/// <remarks>
/// A waiter counts itself in <see cref="waiting"/> before it looks for a place; a release frees its places
/// before it reads <see cref="waiting"/>. Both are full fences, so either the waiter sees the freed place or the
/// release sees the waiter and wakes it. A wake-up is a hint, not a place: the woken caller takes a place like
/// anyone else and waits again if another caller got there first. While anyone waits, new callers queue behind
/// them instead of taking a place freed for the waiters.
/// </remarks>
internal sealed class QueueSlots(int capacity)
{
    private readonly SemaphoreSlim freed = new(0);
    private int taken;
    private int waiting;

    /// <summary>Places taken: the requests queued and not yet taken into a batch or completed.</summary>
    internal int Taken => Volatile.Read(ref taken);

    /// <summary>Takes a place unless the queue is full or callers are already waiting for one.</summary>
    internal bool TryTake() => Volatile.Read(ref waiting) == 0 && TryTakeAny();

    /// <summary>
    /// Waits for a place until <paramref name="timeout"/> passes or <paramref name="cancellationToken"/> is canceled.
    /// </summary>
    /// <param name="timeout">The longest wait; <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
    /// <param name="stop">Checked after each wake-up: true ends the wait with false (the queue was closed).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>True with a place taken; false when the timeout passed or <paramref name="stop"/> said so.</returns>
    internal async ValueTask<bool> WaitAsync(TimeSpan timeout, Func<bool> stop, CancellationToken cancellationToken)
    {
        var until = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        Interlocked.Increment(ref waiting);
        try
        {
            while (true)
            {
                if (stop()) return false;
                if (TryTakeAny()) return true;
                var left = until == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(Math.Max(0, Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), until).Ticks));
                if (!await freed.WaitAsync(left, cancellationToken).ConfigureAwait(false))
                {
                    // One more look: a place freed just as the time ran out still counts.
                    return !stop() && TryTakeAny();
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref waiting);
        }
    }

    /// <summary>Gives back <paramref name="count"/> places and wakes as many waiters.</summary>
    internal void Release(int count = 1)
    {
        Interlocked.Add(ref taken, -count);
        WakeWaiters(count);
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters, which look for a place (or at <c>stop</c>) again.</summary>
    internal void WakeWaiters(int count)
    {
        var waiters = Volatile.Read(ref waiting);
        if (waiters > 0) freed.Release(Math.Min(count, waiters));
    }

    private bool TryTakeAny()
    {
        var current = Volatile.Read(ref taken);
        while (current < capacity)
        {
            var seen = Interlocked.CompareExchange(ref taken, current + 1, current);
            if (seen == current) return true;
            current = seen;
        }

        return false;
    }
}
