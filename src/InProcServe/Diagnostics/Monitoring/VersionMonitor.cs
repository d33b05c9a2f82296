using System.Numerics;
using System.Runtime.CompilerServices;

namespace InProcServe;

/// <summary>
/// Prediction monitoring of one version: picks a share of the rows it answers, keeps the latest sampled value of each
/// monitored output in a ring (the window) and a running summary of each numeric input column. Reports are computed
/// from these when asked, so the hot path only draws a random number, and a sampled row writes a few numbers.
/// </summary>
internal abstract class VersionMonitor : IDisposable
{
    /// <summary>Input tensors with more elements per row are not summarized: an image's pixels are no columns to watch.</summary>
    internal const int MaxSummarizedRowLength = 256;

    /// <summary>Each thread's random state: no shared counter for callers on many cores to fight over.</summary>
    [ThreadStatic]
    private static ulong randomState;

    /// <summary>Rows below this 32-bit random number are sampled: the sample rate times 2^32.</summary>
    private readonly ulong threshold;

    /// <summary>Guards the windows and the column summaries. Held only while a sampled row's numbers are written or a report copies them; no user code runs under it.</summary>
    private protected readonly Lock gate = new();

    /// <summary>The latest sampled values, one ring per output; <see cref="next"/> is where the next value goes, and the ring is full once <see cref="sampled"/> reaches its length.</summary>
    private protected readonly double[][] windows;
    private protected readonly int windowSize;
    private protected int next;
    private protected long sampled;

    /// <summary>
    /// The summarized input columns (in the contract's order) and their running sums, guarded by <see cref="gate"/>:
    /// each column's values less its first value (<see cref="shifts"/>), and their squares. Sums of shifted values need
    /// no division per row, unlike Welford's update, and keep their precision when a column's mean is far from zero
    /// and its spread small, which plain sums of squares lose.
    /// </summary>
    private protected readonly (string Tensor, int Column)[] columns;
    private protected readonly long[] counts;
    private protected readonly double[] shifts;
    private protected readonly double[] sums;
    private protected readonly double[] squares;
    private protected readonly long[] nans;

    private protected VersionMonitor(MonitoringOptions options, IReadOnlyList<OutputBins> outputs, (string Tensor, int Column)[] columns)
    {
        threshold = (ulong)(options.SampleRate * 4294967296.0);
        Outputs = outputs;
        windowSize = options.WindowSize;
        windows = outputs.Select(_ => new double[windowSize]).ToArray();
        this.columns = columns;
        counts = new long[columns.Length];
        shifts = new double[columns.Length];
        sums = new double[columns.Length];
        squares = new double[columns.Length];
        nans = new long[columns.Length];
    }

    /// <summary>The monitored outputs' names, histogram edges and baselines.</summary>
    internal IReadOnlyList<OutputBins> Outputs { get; }

    /// <summary>Rows sampled since the version loaded.</summary>
    internal long SampledRows => Volatile.Read(ref sampled);

    /// <summary>Whether this row is one of the sampled share: a xorshift draw per thread, seeded from the thread's first use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected bool Pick()
    {
        var x = randomState;
        if (x == 0) x = Seed();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        randomState = x;
        return (x >> 32) < threshold;
    }

    /// <summary>A copy of the window of output <paramref name="output"/>, in no particular order (a distribution has none).</summary>
    internal double[] Window(int output)
    {
        lock (gate)
        {
            return windows[output].AsSpan(0, (int)Math.Min(sampled, windowSize)).ToArray();
        }
    }

    /// <summary>The input columns' summaries now.</summary>
    internal InputColumnSummary[] Inputs()
    {
        lock (gate)
        {
            var summaries = new InputColumnSummary[columns.Length];
            for (var i = 0; i < columns.Length; i++)
            {
                var count = counts[i];
                var mean = sums[i] / count;
                summaries[i] = new InputColumnSummary(
                    columns[i].Tensor,
                    columns[i].Column,
                    count,
                    count == 0 ? double.NaN : shifts[i] + mean,
                    count == 0 ? double.NaN : Math.Sqrt(Math.Max(0, squares[i] / count - mean * mean)),
                    nans[i]);
            }

            return summaries;
        }
    }

    public abstract void Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Seed()
    {
        var seed = (ulong)Random.Shared.NextInt64() | 1;
        randomState = seed;
        return seed;
    }
}

/// <summary>One monitored output's name, its histogram's edges, and the baseline's distribution of it, if any.</summary>
internal sealed record OutputBins(string Name, IReadOnlyList<double> Edges, BaselineDistribution? Baseline);

/// <summary>The monitor of a version of one contract: reads the outputs through the registered accessors and the inputs through the contract's binder.</summary>
internal sealed class VersionMonitor<TInput, TOutput> : VersionMonitor
    where TInput : IModelInput<TInput>
{
    private readonly Func<TOutput, double>[] accessors;

    /// <summary>One row of every input tensor, which the contract's binder writes a sampled input into, as it writes batches: numbers without reflection.</summary>
    private readonly TensorBuffer[] scratch;

    /// <summary>For each summarized input tensor: its index in the contract, its element type, and its first column's index in the summaries.</summary>
    private readonly (int Tensor, TensorElementType Type, int First)[] summarized;

    private VersionMonitor(MonitoringOptions options, IReadOnlyList<OutputBins> outputs, Func<TOutput, double>[] accessors, (string, int)[] columns, (int, TensorElementType, int)[] summarized, TensorBuffer[] scratch)
        : base(options, outputs, columns)
    {
        this.accessors = accessors;
        this.summarized = summarized;
        this.scratch = scratch;
    }

    /// <summary>A monitor for a version of the contract.</summary>
    /// <param name="options">The model's monitoring options.</param>
    /// <param name="outputs">The monitored outputs' bins, and the accessor reading each from an output record.</param>
    internal static VersionMonitor<TInput, TOutput> Create(MonitoringOptions options, IReadOnlyList<(OutputBins Bins, Func<TOutput, double> Value)> outputs)
    {
        var declarations = TInput.InputTensors;
        var columns = new List<(string, int)>();
        var summarized = new List<(int, TensorElementType, int)>();
        for (var t = 0; t < declarations.Count; t++)
        {
            var declaration = declarations[t];
            if (declaration.RowLength > MaxSummarizedRowLength || !IsNumber(declaration.ElementType)) continue;
            summarized.Add((t, declaration.ElementType, columns.Count));
            for (var c = 0; c < declaration.RowLength; c++) columns.Add((declaration.Name, c));
        }

        var scratch = declarations.Select(d => new TensorBuffer(d, d.RowShape.Select(x => (long)x).ToArray(), 1)).ToArray();
        return new VersionMonitor<TInput, TOutput>(options, outputs.Select(o => o.Bins).ToArray(), outputs.Select(o => o.Value).ToArray(), [.. columns], [.. summarized], scratch);
    }

    /// <summary>Records a row the version answered, if it is picked for the sample. Never throws: a failing accessor skips the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Observe(in TInput input, in TOutput output)
    {
        if (Pick()) Record(input, output);
    }

    public override void Dispose()
    {
        lock (gate)
        {
            foreach (var buffer in scratch) buffer.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Record(in TInput input, in TOutput output)
    {
        // The accessors are the app's code: they run before the lock, so a slow one never holds up other callers.
        Span<double> values = accessors.Length <= 16 ? stackalloc double[accessors.Length] : new double[accessors.Length];
        try
        {
            for (var i = 0; i < accessors.Length; i++) values[i] = accessors[i](output);
        }
        catch (Exception)
        {
            // Monitoring must never fail the call it watches; a row whose value can't be read is left out of the sample.
            return;
        }

        lock (gate)
        {
            var slot = next;
            for (var i = 0; i < values.Length; i++) windows[i][slot] = values[i];
            next = slot + 1 == windowSize ? 0 : slot + 1;
            if (summarized.Length > 0)
            {
                var tensors = new BatchTensors(scratch);
                TInput.WriteRow(input, 0, tensors);
                foreach (var (tensor, type, first) in summarized)
                {
                    switch (type)
                    {
                        case TensorElementType.Float: Summarize<float>(tensors.Row<float>(tensor, 0), first); break;
                        case TensorElementType.Double: Summarize<double>(tensors.Row<double>(tensor, 0), first); break;
                        case TensorElementType.Float16: Summarize<Half>(tensors.Row<Half>(tensor, 0), first); break;
                        case TensorElementType.Int8: Summarize<sbyte>(tensors.Row<sbyte>(tensor, 0), first); break;
                        case TensorElementType.UInt8: Summarize<byte>(tensors.Row<byte>(tensor, 0), first); break;
                        case TensorElementType.Int16: Summarize<short>(tensors.Row<short>(tensor, 0), first); break;
                        case TensorElementType.UInt16: Summarize<ushort>(tensors.Row<ushort>(tensor, 0), first); break;
                        case TensorElementType.Int32: Summarize<int>(tensors.Row<int>(tensor, 0), first); break;
                        case TensorElementType.UInt32: Summarize<uint>(tensors.Row<uint>(tensor, 0), first); break;
                        case TensorElementType.Int64: Summarize<long>(tensors.Row<long>(tensor, 0), first); break;
                        case TensorElementType.UInt64: Summarize<ulong>(tensors.Row<ulong>(tensor, 0), first); break;
                    }
                }
            }

            sampled++;
        }
    }

    /// <summary>Adds one row of a tensor to its columns' sums; a column's first value becomes its shift.</summary>
    private void Summarize<T>(ReadOnlySpan<T> row, int first)
        where T : unmanaged, INumberBase<T>
    {
        for (var c = 0; c < row.Length; c++)
        {
            var i = first + c;
            if (T.IsNaN(row[c]))
            {
                nans[i]++;
                continue;
            }

            var value = double.CreateTruncating(row[c]);
            if (counts[i]++ == 0) shifts[i] = value;
            var shifted = value - shifts[i];
            sums[i] += shifted;
            squares[i] += shifted * shifted;
        }
    }

    private static bool IsNumber(TensorElementType type) => type is TensorElementType.Float or TensorElementType.Double or TensorElementType.Float16
        or TensorElementType.Int8 or TensorElementType.UInt8 or TensorElementType.Int16 or TensorElementType.UInt16
        or TensorElementType.Int32 or TensorElementType.UInt32 or TensorElementType.Int64 or TensorElementType.UInt64;
}
