using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace InProcServe.LoadTest;

/// <summary>A closed loop of async callers, each awaiting one call after the other: how the hosted phases load a model.</summary>
internal static class ClosedLoop
{
    /// <summary>Calls per second of <paramref name="concurrency"/> callers over <paramref name="seconds"/>, and the bytes each call allocated (the loop's own included).</summary>
    internal static async Task<(double PerSecond, double BytesPerCall)> RunAsync(Func<FraudFeatures, ValueTask<FraudProbability>> call, float[][] rows, int concurrency, double seconds)
    {
        var stop = new StrongBox<bool>();
        var counts = new long[concurrency];
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var start = Stopwatch.GetTimestamp();
        var callers = Enumerable.Range(0, concurrency).Select(id => Task.Run(async () =>
        {
            long calls = 0;
            while (!Volatile.Read(ref stop.Value))
            {
                await call(new FraudFeatures(rows[(int)((id * 131 + calls) % rows.Length)]));
                calls++;
            }

            counts[id] = calls;
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref stop.Value, true);
        var elapsed = Stopwatch.GetTimestamp() - start;
        await Task.WhenAll(callers);
        var total = counts.Sum();
        return (total * (double)Stopwatch.Frequency / elapsed, (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (double)Math.Max(1, total));
    }
}
