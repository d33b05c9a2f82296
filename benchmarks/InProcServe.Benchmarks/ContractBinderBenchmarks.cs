using BenchmarkDotNet.Attributes;

namespace InProcServe.Benchmarks;

/// <summary>
/// Writing and reading one row of the fraud contract (30 float columns of "features" in, one "probability" out)
/// over the same native batch memory, 64 rows per operation (results are per row). No model runs: this measures
/// the binder alone.
/// </summary>
/// <remarks>
/// <para>The ways to move a row:</para>
/// <list type="bullet">
/// <item><see cref="CopyLoop"/> (the baseline): no contract at all, a span over each row of the batch memory and 30
/// stores, as a person would write the copy.</item>
/// <item><see cref="GeneratedBatch"/>: the generated WriteRows/ReadRows, as ModelRunner's bulk path calls them.</item>
/// <item><see cref="GeneratedPerRow"/>: the generated WriteRow/ReadRow, as the direct path calls them: one call
/// through the interface and one tensor lookup per row.</item>
/// <item><see cref="HandWrittenBinderPerRow"/>: IModelInput/IModelOutput implemented by hand on a record with the same
/// 30 properties, called per row the same way.</item>
/// </list>
/// <para>The output is a record struct so that nothing allocates: with a record class every method would allocate
/// the same 24 bytes per row for the result object.</para>
/// </remarks>
[MemoryDiagnoser]
[ShortRunJob]
public unsafe class ContractBinderBenchmarks
{
    private const int Rows = 64;

    private readonly BenchTransaction[] transactions = new BenchTransaction[Rows];
    private readonly ManualTransaction[] manualTransactions = new ManualTransaction[Rows];
    private readonly BenchScore[] scores = new BenchScore[Rows];
    private readonly ManualScore[] manualScores = new ManualScore[Rows];
    private TensorBuffer features = null!;
    private TensorBuffer probability = null!;
    private BatchTensors inputs;
    private BatchTensors outputs;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        for (var i = 0; i < Rows; i++)
        {
            var values = new float[30];
            for (var c = 0; c < values.Length; c++)
            {
                values[c] = (float)random.NextDouble();
            }

            transactions[i] = new BenchTransaction
            {
                Time = values[0],
                V1 = values[1],
                V2 = values[2],
                V3 = values[3],
                V4 = values[4],
                V5 = values[5],
                V6 = values[6],
                V7 = values[7],
                V8 = values[8],
                V9 = values[9],
                V10 = values[10],
                V11 = values[11],
                V12 = values[12],
                V13 = values[13],
                V14 = values[14],
                V15 = values[15],
                V16 = values[16],
                V17 = values[17],
                V18 = values[18],
                V19 = values[19],
                V20 = values[20],
                V21 = values[21],
                V22 = values[22],
                V23 = values[23],
                V24 = values[24],
                V25 = values[25],
                V26 = values[26],
                V27 = values[27],
                V28 = values[28],
                Amount = values[29],
            };
            manualTransactions[i] = ManualTransaction.From(values);
        }

        features = new TensorBuffer(Declarations<BenchTransaction>()[0], [30], Rows);
        probability = new TensorBuffer(new TensorDeclaration("probability", TensorElementType.Float, [], "Probability"), [1], Rows);
        inputs = new BatchTensors([features]);
        outputs = new BatchTensors([probability]);
        var probabilities = new Span<float>(probability.Data, Rows);
        for (var i = 0; i < Rows; i++)
        {
            probabilities[i] = i / (float)Rows;
        }

        CheckAllAgree();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        features.Dispose();
        probability.Dispose();
    }

    /// <summary>The bulk path (ModelRunner.Predict over a span): the generated WriteRows and ReadRows, one call per batch.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public void GeneratedBatch()
    {
        WriteAll<BenchTransaction>(transactions, inputs);
        ReadAll<BenchScore>(outputs, scores);
    }

    /// <summary>The direct path (ModelRunner.Predict of one input): the generated WriteRow and ReadRow, one call per row.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public void GeneratedPerRow()
    {
        for (var i = 0; i < Rows; i++)
        {
            Write(transactions[i], i, inputs);
            scores[i] = Read<BenchScore>(i, outputs);
        }
    }

    /// <summary>A hand-written binder of the same contract, called per row the same way.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public void HandWrittenBinderPerRow()
    {
        for (var i = 0; i < Rows; i++)
        {
            Write(manualTransactions[i], i, inputs);
            manualScores[i] = Read<ManualScore>(i, outputs);
        }
    }

    /// <summary>The baseline, no binder: a span over each row of native memory, 30 stores, one load.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Rows)]
    public void CopyLoop()
    {
        var data = (float*)features.Data;
        var results = (float*)probability.Data;
        for (var i = 0; i < Rows; i++)
        {
            var t = transactions[i];
            var row = new Span<float>(data + (i * 30), 30);
            row[0] = t.Time;
            row[1] = t.V1;
            row[2] = t.V2;
            row[3] = t.V3;
            row[4] = t.V4;
            row[5] = t.V5;
            row[6] = t.V6;
            row[7] = t.V7;
            row[8] = t.V8;
            row[9] = t.V9;
            row[10] = t.V10;
            row[11] = t.V11;
            row[12] = t.V12;
            row[13] = t.V13;
            row[14] = t.V14;
            row[15] = t.V15;
            row[16] = t.V16;
            row[17] = t.V17;
            row[18] = t.V18;
            row[19] = t.V19;
            row[20] = t.V20;
            row[21] = t.V21;
            row[22] = t.V22;
            row[23] = t.V23;
            row[24] = t.V24;
            row[25] = t.V25;
            row[26] = t.V26;
            row[27] = t.V27;
            row[28] = t.V28;
            row[29] = t.Amount;
            scores[i] = new BenchScore(results[i]);
        }
    }

    private static IReadOnlyList<TensorDeclaration> Declarations<T>()
        where T : IModelInput<T> => T.InputTensors;

    // As ModelRunner<TInput, TOutput> calls a binder: through the interface's static abstract members.
    private static void Write<T>(in T value, int row, BatchTensors tensors)
        where T : IModelInput<T> => T.WriteRow(value, row, tensors);

    private static T Read<T>(int row, BatchTensors tensors)
        where T : IModelOutput<T> => T.ReadRow(row, tensors);

    private static void WriteAll<T>(ReadOnlySpan<T> values, BatchTensors tensors)
        where T : IModelInput<T> => T.WriteRows(values, tensors);

    private static void ReadAll<T>(BatchTensors tensors, Span<T> destination)
        where T : IModelOutput<T> => T.ReadRows(tensors, destination);

    /// <summary>All three must write the same bytes and read the same scores, or the comparison means nothing.</summary>
    private void CheckAllAgree()
    {
        var batch = new Span<float>(features.Data, Rows * 30);
        CopyLoop();
        var expected = batch.ToArray();
        var expectedScores = scores.Select(s => s.Probability).ToArray();
        foreach (var method in new Action[] { GeneratedBatch, GeneratedPerRow })
        {
            batch.Clear();
            Array.Clear(scores);
            method();
            Agree(batch, scores.Select(s => s.Probability));
        }

        batch.Clear();
        HandWrittenBinderPerRow();
        Agree(batch, manualScores.Select(s => s.Probability));

        void Agree(Span<float> written, IEnumerable<float> read)
        {
            if (!written.SequenceEqual(expected) || !read.SequenceEqual(expectedScores))
            {
                throw new InvalidOperationException("The binders and the copy loop disagree.");
            }
        }
    }
}

/// <summary>The fraud model's 30 features as scalar columns, as in the README.</summary>
[ModelInput]
public sealed partial record BenchTransaction
{
    [Tensor("features", Column = 0)] public float Time { get; init; }

    [Tensor("features", Column = 1)] public float V1 { get; init; }

    [Tensor("features", Column = 2)] public float V2 { get; init; }

    [Tensor("features", Column = 3)] public float V3 { get; init; }

    [Tensor("features", Column = 4)] public float V4 { get; init; }

    [Tensor("features", Column = 5)] public float V5 { get; init; }

    [Tensor("features", Column = 6)] public float V6 { get; init; }

    [Tensor("features", Column = 7)] public float V7 { get; init; }

    [Tensor("features", Column = 8)] public float V8 { get; init; }

    [Tensor("features", Column = 9)] public float V9 { get; init; }

    [Tensor("features", Column = 10)] public float V10 { get; init; }

    [Tensor("features", Column = 11)] public float V11 { get; init; }

    [Tensor("features", Column = 12)] public float V12 { get; init; }

    [Tensor("features", Column = 13)] public float V13 { get; init; }

    [Tensor("features", Column = 14)] public float V14 { get; init; }

    [Tensor("features", Column = 15)] public float V15 { get; init; }

    [Tensor("features", Column = 16)] public float V16 { get; init; }

    [Tensor("features", Column = 17)] public float V17 { get; init; }

    [Tensor("features", Column = 18)] public float V18 { get; init; }

    [Tensor("features", Column = 19)] public float V19 { get; init; }

    [Tensor("features", Column = 20)] public float V20 { get; init; }

    [Tensor("features", Column = 21)] public float V21 { get; init; }

    [Tensor("features", Column = 22)] public float V22 { get; init; }

    [Tensor("features", Column = 23)] public float V23 { get; init; }

    [Tensor("features", Column = 24)] public float V24 { get; init; }

    [Tensor("features", Column = 25)] public float V25 { get; init; }

    [Tensor("features", Column = 26)] public float V26 { get; init; }

    [Tensor("features", Column = 27)] public float V27 { get; init; }

    [Tensor("features", Column = 28)] public float V28 { get; init; }

    [Tensor("features", Column = 29)] public float Amount { get; init; }
}

/// <summary>The fraud model's output.</summary>
[ModelOutput]
public readonly partial record struct BenchScore([Tensor("probability")] float Probability);

/// <summary><see cref="BenchTransaction"/> with its binder written by hand, the way a person would.</summary>
public sealed record ManualTransaction : IModelInput<ManualTransaction>
{
    private static readonly TensorDeclaration[] Declarations = [new("features", TensorElementType.Float, [30], "Time, V1, …, Amount")];

    public float Time { get; init; }

    public float V1 { get; init; }

    public float V2 { get; init; }

    public float V3 { get; init; }

    public float V4 { get; init; }

    public float V5 { get; init; }

    public float V6 { get; init; }

    public float V7 { get; init; }

    public float V8 { get; init; }

    public float V9 { get; init; }

    public float V10 { get; init; }

    public float V11 { get; init; }

    public float V12 { get; init; }

    public float V13 { get; init; }

    public float V14 { get; init; }

    public float V15 { get; init; }

    public float V16 { get; init; }

    public float V17 { get; init; }

    public float V18 { get; init; }

    public float V19 { get; init; }

    public float V20 { get; init; }

    public float V21 { get; init; }

    public float V22 { get; init; }

    public float V23 { get; init; }

    public float V24 { get; init; }

    public float V25 { get; init; }

    public float V26 { get; init; }

    public float V27 { get; init; }

    public float V28 { get; init; }

    public float Amount { get; init; }

    static IReadOnlyList<TensorDeclaration> IModelInput<ManualTransaction>.InputTensors => Declarations;

    public static ManualTransaction From(float[] values) => new()
    {
        Time = values[0],
        V1 = values[1],
        V2 = values[2],
        V3 = values[3],
        V4 = values[4],
        V5 = values[5],
        V6 = values[6],
        V7 = values[7],
        V8 = values[8],
        V9 = values[9],
        V10 = values[10],
        V11 = values[11],
        V12 = values[12],
        V13 = values[13],
        V14 = values[14],
        V15 = values[15],
        V16 = values[16],
        V17 = values[17],
        V18 = values[18],
        V19 = values[19],
        V20 = values[20],
        V21 = values[21],
        V22 = values[22],
        V23 = values[23],
        V24 = values[24],
        V25 = values[25],
        V26 = values[26],
        V27 = values[27],
        V28 = values[28],
        Amount = values[29],
    };

    static void IModelInput<ManualTransaction>.WriteRow(in ManualTransaction value, int row, BatchTensors tensors)
    {
        var features = tensors.Row<float>(0, row);
        features[0] = value.Time;
        features[1] = value.V1;
        features[2] = value.V2;
        features[3] = value.V3;
        features[4] = value.V4;
        features[5] = value.V5;
        features[6] = value.V6;
        features[7] = value.V7;
        features[8] = value.V8;
        features[9] = value.V9;
        features[10] = value.V10;
        features[11] = value.V11;
        features[12] = value.V12;
        features[13] = value.V13;
        features[14] = value.V14;
        features[15] = value.V15;
        features[16] = value.V16;
        features[17] = value.V17;
        features[18] = value.V18;
        features[19] = value.V19;
        features[20] = value.V20;
        features[21] = value.V21;
        features[22] = value.V22;
        features[23] = value.V23;
        features[24] = value.V24;
        features[25] = value.V25;
        features[26] = value.V26;
        features[27] = value.V27;
        features[28] = value.V28;
        features[29] = value.Amount;
    }
}

/// <summary><see cref="BenchScore"/> with its binder written by hand.</summary>
public readonly record struct ManualScore(float Probability) : IModelOutput<ManualScore>
{
    private static readonly TensorDeclaration[] Declarations = [new("probability", TensorElementType.Float, [], "Probability")];

    static IReadOnlyList<TensorDeclaration> IModelOutput<ManualScore>.OutputTensors => Declarations;

    static ManualScore IModelOutput<ManualScore>.ReadRow(int row, BatchTensors tensors) => new(tensors.Row<float>(0, row)[0]);
}
