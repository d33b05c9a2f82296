using System.Diagnostics;

namespace InProcServe.Cli.Quantize;

/// <summary>Latency of single runs, for comparing two models under the same machine load.</summary>
internal static class Latency
{
    /// <summary>
    /// Median latency in µs of each model on the same inputs, measured in alternating slices over <paramref name="budget"/>
    /// so that a change in machine load hits both alike (ONNX Runtime allocates the outputs of each run, for both alike).
    /// </summary>
    internal static (double First, double Second) Alternating(ModelSession first, ModelSession second, IReadOnlyDictionary<string, HostTensor> inputs, TimeSpan budget)
    {
        var values = first.Inputs.Select(i => new NamedTensor(i.Name, inputs[i.Name].ToTensorValue())).ToArray();
        try
        {
            var a = new List<double>();
            var b = new List<double>();
            const int Slices = 5;
            var slice = budget / (2 * Slices);
            // One warm-up run each: the first run pays for allocations and pre-packing.
            first.Run(values).Dispose();
            second.Run(values).Dispose();
            for (var s = 0; s < Slices; s++)
            {
                Measure(first, values, slice, a);
                Measure(second, values, slice, b);
            }

            return (Median(a), Median(b));
        }
        finally
        {
            foreach (var value in values) value.Value.Dispose();
        }
    }

    private static void Measure(ModelSession session, NamedTensor[] inputs, TimeSpan duration, List<double> micros)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        do
        {
            var start = Stopwatch.GetTimestamp();
            session.Run(inputs).Dispose();
            micros.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        while (Stopwatch.GetTimestamp() < end);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
