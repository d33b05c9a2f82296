using System.Diagnostics;
using InProcServe.LoadTest;

namespace InProcServe.Cli.Perf;

/// <summary>What the callers of one load level did during one measurement window.</summary>
/// <param name="Seconds">The window's length.</param>
/// <param name="Requests">Requests answered.</param>
/// <param name="Rows">Rows (inferences) in those requests.</param>
/// <param name="Latencies">The requests' latencies.</param>
/// <param name="LatencyTicks">Their sum, in <see cref="Stopwatch"/> ticks, for the mean.</param>
/// <param name="BatchSizes">Runs of each batch size.</param>
internal sealed record Window(double Seconds, long Requests, long Rows, LatencyHistogram Latencies, long LatencyTicks, Dictionary<int, long> BatchSizes)
{
    internal double RowsPerSecond => Rows / Seconds;

    /// <summary>The latency in µs below which a fraction <paramref name="p"/> of the requests lie; 0 when there were none.</summary>
    internal double Percentile(double p) => Requests == 0 ? 0 : Latencies.PercentileMicroseconds(p * 100);

    internal double MeanMicros => Requests == 0 ? 0 : LatencyTicks * 1e6 / Stopwatch.Frequency / Requests;

    /// <summary>Several windows as one: their counts and latencies added.</summary>
    internal static Window Merge(IReadOnlyList<Window> windows)
    {
        var batches = new Dictionary<int, long>();
        foreach (var (size, count) in windows.SelectMany(w => w.BatchSizes)) batches[size] = batches.GetValueOrDefault(size) + count;
        return new Window(
            windows.Sum(w => w.Seconds), windows.Sum(w => w.Requests), windows.Sum(w => w.Rows),
            LatencyHistogram.Merge(windows.Select(w => w.Latencies)), windows.Sum(w => w.LatencyTicks), batches);
    }
}
