using System.Diagnostics;

namespace InProcServe.Cli.Perf;

/// <summary>What the callers of one load level did during one measurement window.</summary>
internal sealed record Window(double Seconds, long Requests, long Rows, long[] LatencyTicks, Dictionary<int, long> BatchSizes)
{
    internal double RowsPerSecond => Rows / Seconds;

    internal double Percentile(double p) => LatencyTicks.Length == 0 ? 0 : Micros(LatencyTicks[Math.Min(LatencyTicks.Length - 1, (int)Math.Ceiling(p * LatencyTicks.Length) - 1)]);

    internal double MeanMicros => LatencyTicks.Length == 0 ? 0 : Micros((long)LatencyTicks.Average());

    private static double Micros(long ticks) => ticks * 1e6 / Stopwatch.Frequency;

    /// <summary>Several windows as one: their counts added, their latencies merged and sorted.</summary>
    internal static Window Merge(IReadOnlyList<Window> windows)
    {
        var latencies = windows.SelectMany(w => w.LatencyTicks).ToArray();
        Array.Sort(latencies);
        var batches = new Dictionary<int, long>();
        foreach (var (size, count) in windows.SelectMany(w => w.BatchSizes)) batches[size] = batches.GetValueOrDefault(size) + count;
        return new Window(windows.Sum(w => w.Seconds), windows.Sum(w => w.Requests), windows.Sum(w => w.Rows), latencies, batches);
    }
}
