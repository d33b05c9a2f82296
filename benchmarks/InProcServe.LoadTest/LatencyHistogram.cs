using System.Diagnostics;
using System.Numerics;

namespace InProcServe.LoadTest;

/// <summary>
/// Latencies in <see cref="Stopwatch"/> ticks, counted in log-linear buckets (64 per power of two, so a
/// percentile is within 1.6% of the true value): recording is an increment into a preallocated array, with
/// no allocation and no lock. One histogram per recording thread (or caller); merge them to read percentiles.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBuckets = 64;
    private readonly long[] counts = new long[(64 - 6 + 1) * SubBuckets];

    /// <summary>The latencies recorded (a sum over the buckets: read it once recording is over).</summary>
    internal long Count => counts.Sum();

    internal void Record(long ticks) => counts[Index(Math.Max(ticks, 0))]++;

    /// <summary>Thread-safe <see cref="Record"/>, for callbacks that complete on any thread.</summary>
    internal void RecordConcurrent(long ticks) => Interlocked.Increment(ref counts[Index(Math.Max(ticks, 0))]);

    /// <summary>Sums the buckets of <paramref name="parts"/>.</summary>
    internal static LatencyHistogram Merge(IEnumerable<LatencyHistogram> parts)
    {
        var merged = new LatencyHistogram();
        foreach (var part in parts)
        {
            for (var i = 0; i < merged.counts.Length; i++) merged.counts[i] += part.counts[i];
        }

        return merged;
    }

    /// <summary>The latency in microseconds below which <paramref name="percentile"/> % of the recorded ones lie (a bucket's midpoint).</summary>
    internal double PercentileMicroseconds(double percentile)
    {
        var total = Count;
        if (total == 0) return double.NaN;
        var rank = (long)Math.Ceiling(total * percentile / 100);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= Math.Max(rank, 1))
            {
                return Midpoint(i) * 1e6 / Stopwatch.Frequency;
            }
        }

        return double.NaN;
    }

    private static int Index(long value)
    {
        if (value < 2 * SubBuckets) return (int)value;
        var shift = 63 - BitOperations.LeadingZeroCount((ulong)value) - 6;
        return ((shift + 1) * SubBuckets) + (int)(value >> shift) - SubBuckets;
    }

    private static double Midpoint(int index)
    {
        if (index < 2 * SubBuckets) return index;
        var shift = (index / SubBuckets) - 1;
        var low = (long)((index % SubBuckets) + SubBuckets) << shift;
        return low + ((1L << shift) / 2.0);
    }
}
