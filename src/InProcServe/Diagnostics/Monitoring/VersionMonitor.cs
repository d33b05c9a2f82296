using System.Numerics;
using System.Runtime.CompilerServices;

namespace InProcServe;

/// <summary>
/// Prediction monitoring of one version: picks a share of the rows it answers, keeps the latest sampled value of each
/// monitored output (the window) and running sums of each numeric input column. Reports are computed from these when
/// asked, so the hot path only draws a random number, and a sampled row writes a few numbers.
/// </summary>
/// <remarks>
/// Sampled rows are recorded in stripes, picked by the calling thread's id: callers on different threads write to
/// different stripes, each under its own lock, which is then almost never contended, so a caller neither waits for
/// another nor stalls behind one preempted while holding a shared lock (which a busy machine does often). A report
/// merges the stripes, taking each one's lock in turn.
/// </remarks>
internal abstract class VersionMonitor : IDisposable
{
    /// <summary>Input tensors with more elements per row are not summarized: an image's pixels are no columns to watch.</summary>
    internal const int MaxSummarizedRowLength = 256;

    /// <summary>Each thread's random state: no shared counter for callers on many cores to fight over.</summary>
    [ThreadStatic]
    private static ulong randomState;

    /// <summary>Rows below this 32-bit random number are sampled: the sample rate times 2^32.</summary>
    private readonly ulong threshold;

    private readonly Stripe?[] stripes;
    private readonly Lock stripesGate = new();
    private readonly int windowSize;

    private protected VersionMonitor(MonitoringOptions options, IReadOnlyList<OutputBins> outputs, (string Tensor, int Column)[] columns)
    {
        threshold = (ulong)(options.SampleRate * 4294967296.0);
        windowSize = options.WindowSize;
        Outputs = outputs;
        Columns = columns;
        // Four stripes per processor: threads whose ids share a stripe are few.
        stripes = new Stripe?[Math.Min(64, (int)BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount * 4))];
    }

    /// <summary>The monitored outputs' names, histogram edges and baselines.</summary>
    internal IReadOnlyList<OutputBins> Outputs { get; }

    /// <summary>The summarized input columns, in the contract's order.</summary>
    private protected (string Tensor, int Column)[] Columns { get; }

    /// <summary>Rows sampled since the version loaded.</summary>
    internal long SampledRows
    {
        get
        {
            long total = 0;
            foreach (var stripe in stripes)
            {
                if (stripe is not null) total += Volatile.Read(ref stripe.Sampled);
            }

            return total;
        }
    }

    /// <summary>The latest values of output <paramref name="output"/> (at most the window's size), in no particular order (a distribution has none).</summary>
    internal double[] Window(int output)
    {
        var stamped = new List<(long Stamp, double Value)>();
        foreach (var stripe in stripes)
        {
            if (stripe is null) continue;
            lock (stripe.Gate)
            {
                var filled = (int)Math.Min(stripe.Sampled, windowSize);
                for (var i = 0; i < filled; i++) stamped.Add((stripe.Stamps[i], stripe.Windows[output][i]));
            }
        }

        if (stamped.Count > windowSize)
        {
            // Several stripes together hold more than a window: the latest values, by when they were sampled.
            stamped.Sort((a, b) => b.Stamp.CompareTo(a.Stamp));
            stamped.RemoveRange(windowSize, stamped.Count - windowSize);
        }

        return stamped.Select(s => s.Value).ToArray();
    }

    /// <summary>The input columns' summaries now: each stripe's sums merged (Chan, Golub and LeVeque's pairwise combination).</summary>
    internal InputColumnSummary[] Inputs()
    {
        var count = new long[Columns.Length];
        var mean = new double[Columns.Length];
        var deviations = new double[Columns.Length];
        var nans = new long[Columns.Length];
        foreach (var stripe in stripes)
        {
            if (stripe is null) continue;
            lock (stripe.Gate)
            {
                for (var i = 0; i < Columns.Length; i++)
                {
                    nans[i] += stripe.NaNs[i];
                    var n = stripe.Counts[i];
                    if (n == 0) continue;
                    var stripeMean = stripe.Sums[i] / n;
                    var stripeDeviations = Math.Max(0, stripe.Squares[i] - stripe.Sums[i] * stripeMean);
                    stripeMean += stripe.Shifts[i];
                    var total = count[i] + n;
                    var delta = stripeMean - mean[i];
                    mean[i] += delta * n / total;
                    deviations[i] += stripeDeviations + delta * delta * count[i] * n / total;
                    count[i] = total;
                }
            }
        }

        return Columns.Select((c, i) => new InputColumnSummary(
            c.Tensor,
            c.Column,
            count[i],
            count[i] == 0 ? double.NaN : mean[i],
            count[i] == 0 ? double.NaN : Math.Sqrt(deviations[i] / count[i]),
            nans[i])).ToArray();
    }

    public void Dispose()
    {
        foreach (var stripe in stripes)
        {
            if (stripe is null) continue;
            lock (stripe.Gate) DisposeScratch(stripe.Scratch);
        }
    }

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

    /// <summary>The calling thread's stripe, made on its first sampled row.</summary>
    private protected Stripe CurrentStripe()
    {
        var index = Environment.CurrentManagedThreadId & (stripes.Length - 1);
        return Volatile.Read(ref stripes[index]) ?? CreateStripe(index);
    }

    /// <summary>A stripe's own buffer for the contract's binder to write a sampled input into.</summary>
    private protected abstract object CreateScratch();

    private protected abstract void DisposeScratch(object scratch);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Stripe CreateStripe(int index)
    {
        lock (stripesGate)
        {
            return stripes[index] ??= new Stripe(Outputs.Count, windowSize, Columns.Length, CreateScratch());
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Seed()
    {
        var seed = (ulong)Random.Shared.NextInt64() | 1;
        randomState = seed;
        return seed;
    }

    /// <summary>
    /// What the threads of one stripe sampled, under <see cref="Gate"/>: a ring of the latest values of each output with
    /// when each was sampled (<see cref="Environment.TickCount64"/>), and per input column the count, the first value (the shift), and the sums of the values
    /// less the shift and of their squares. Shifted sums need no division per row, unlike Welford's update, and keep
    /// their precision when a column's mean is far from zero and its spread small, which plain sums of squares lose.
    /// </summary>
    private protected sealed class Stripe(int outputs, int windowSize, int columns, object scratch)
    {
        internal readonly Lock Gate = new();
        internal readonly double[][] Windows = Enumerable.Range(0, outputs).Select(_ => new double[windowSize]).ToArray();
        internal readonly long[] Stamps = new long[windowSize];
        internal readonly long[] Counts = new long[columns];
        internal readonly double[] Shifts = new double[columns];
        internal readonly double[] Sums = new double[columns];
        internal readonly double[] Squares = new double[columns];
        internal readonly long[] NaNs = new long[columns];
        internal readonly object Scratch = scratch;
        internal int Next;
        internal long Sampled;
    }
}

/// <summary>One monitored output's name, its histogram's edges, and the baseline's distribution of it, if any.</summary>
internal sealed record OutputBins(string Name, IReadOnlyList<double> Edges, BaselineDistribution? Baseline);

/// <summary>The monitor of a version of one contract: reads the outputs through the registered accessors and the inputs through the contract's binder.</summary>
internal sealed class VersionMonitor<TInput, TOutput> : VersionMonitor
    where TInput : IModelInput<TInput>
{
    private readonly Func<TOutput, double>[] accessors;

    /// <summary>For each summarized input tensor: its index in the contract, its element type, and its first column's index in the summaries.</summary>
    private readonly (int Tensor, TensorElementType Type, int First)[] summarized;

    private VersionMonitor(MonitoringOptions options, IReadOnlyList<OutputBins> outputs, Func<TOutput, double>[] accessors, (string, int)[] columns, (int, TensorElementType, int)[] summarized)
        : base(options, outputs, columns)
    {
        this.accessors = accessors;
        this.summarized = summarized;
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

        return new VersionMonitor<TInput, TOutput>(options, outputs.Select(o => o.Bins).ToArray(), outputs.Select(o => o.Value).ToArray(), [.. columns], [.. summarized]);
    }

    /// <summary>Records a row the version answered, if it is picked for the sample. Never throws: a failing accessor skips the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Observe(in TInput input, in TOutput output)
    {
        if (Pick()) Record(input, output);
    }

    /// <summary>One row of every input tensor, which the contract's binder writes a sampled input into, as it writes batches: numbers without reflection.</summary>
    private protected override object CreateScratch() =>
        TInput.InputTensors.Select(d => new TensorBuffer(d, d.RowShape.Select(x => (long)x).ToArray(), 1)).ToArray();

    private protected override void DisposeScratch(object scratch)
    {
        foreach (var buffer in (TensorBuffer[])scratch) buffer.Dispose();
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

        // Milliseconds are fine enough to tell which stripes' values are the latest, and the coarse clock costs a few nanoseconds.
        var stamp = Environment.TickCount64;
        var stripe = CurrentStripe();
        lock (stripe.Gate)
        {
            var slot = stripe.Next;
            for (var i = 0; i < values.Length; i++) stripe.Windows[i][slot] = values[i];
            stripe.Stamps[slot] = stamp;
            stripe.Next = slot + 1 == stripe.Stamps.Length ? 0 : slot + 1;
            if (summarized.Length > 0)
            {
                var tensors = new BatchTensors((TensorBuffer[])stripe.Scratch);
                TInput.WriteRow(input, 0, tensors);
                foreach (var (tensor, type, first) in summarized)
                {
                    switch (type)
                    {
                        case TensorElementType.Float: Summarize<float>(stripe, tensors.Row<float>(tensor, 0), first); break;
                        case TensorElementType.Double: Summarize<double>(stripe, tensors.Row<double>(tensor, 0), first); break;
                        case TensorElementType.Float16: Summarize<Half>(stripe, tensors.Row<Half>(tensor, 0), first); break;
                        case TensorElementType.Int8: Summarize<sbyte>(stripe, tensors.Row<sbyte>(tensor, 0), first); break;
                        case TensorElementType.UInt8: Summarize<byte>(stripe, tensors.Row<byte>(tensor, 0), first); break;
                        case TensorElementType.Int16: Summarize<short>(stripe, tensors.Row<short>(tensor, 0), first); break;
                        case TensorElementType.UInt16: Summarize<ushort>(stripe, tensors.Row<ushort>(tensor, 0), first); break;
                        case TensorElementType.Int32: Summarize<int>(stripe, tensors.Row<int>(tensor, 0), first); break;
                        case TensorElementType.UInt32: Summarize<uint>(stripe, tensors.Row<uint>(tensor, 0), first); break;
                        case TensorElementType.Int64: Summarize<long>(stripe, tensors.Row<long>(tensor, 0), first); break;
                        case TensorElementType.UInt64: Summarize<ulong>(stripe, tensors.Row<ulong>(tensor, 0), first); break;
                    }
                }
            }

            Volatile.Write(ref stripe.Sampled, stripe.Sampled + 1);
        }
    }

    /// <summary>Adds one row of a tensor to its columns' sums in <paramref name="stripe"/>; a column's first value becomes its shift.</summary>
    private static void Summarize<T>(Stripe stripe, ReadOnlySpan<T> row, int first)
        where T : unmanaged, INumberBase<T>
    {
        // Spans of exactly the row's columns: the loop below runs without bounds checks.
        var counts = stripe.Counts.AsSpan(first, row.Length);
        var shifts = stripe.Shifts.AsSpan(first, row.Length);
        var sums = stripe.Sums.AsSpan(first, row.Length);
        var squares = stripe.Squares.AsSpan(first, row.Length);
        for (var c = 0; c < row.Length; c++)
        {
            if (T.IsNaN(row[c]))
            {
                stripe.NaNs[first + c]++;
                continue;
            }

            var value = double.CreateTruncating(row[c]);
            if (counts[c]++ == 0) shifts[c] = value;
            var shifted = value - shifts[c];
            sums[c] += shifted;
            squares[c] += shifted * shifted;
        }
    }

    private static bool IsNumber(TensorElementType type) => type is TensorElementType.Float or TensorElementType.Double or TensorElementType.Float16
        or TensorElementType.Int8 or TensorElementType.UInt8 or TensorElementType.Int16 or TensorElementType.UInt16
        or TensorElementType.Int32 or TensorElementType.UInt32 or TensorElementType.Int64 or TensorElementType.UInt64;
}
