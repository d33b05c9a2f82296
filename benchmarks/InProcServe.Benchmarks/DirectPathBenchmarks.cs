using BenchmarkDotNet.Attributes;

namespace InProcServe.Benchmarks;

/// <summary>
/// One batch-1 prediction of the fraud MLP (IntraOpThreads = 1) with fresh input values each call: the direct path,
/// <see cref="ModelRunner{TInput, TOutput}.Predict(in TInput, CancellationToken)"/> with a generated contract, against
/// the raw ONNX Runtime C API Run after copying the same values into its input tensor (the baseline).
/// </summary>
/// <remarks>
/// Both methods cycle through the same 1,024 rows, so each call writes different values and neither can reuse
/// the previous call's input. The setup fails unless both compute the same probability for every row.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class DirectPathBenchmarks
{
    private const int Rows = 1024;

    private readonly float[][] rows = new float[Rows][];
    private readonly BenchFeatures[] inputs = new BenchFeatures[Rows];
    private RawFraudModel raw = null!;
    private ModelSession session = null!;
    private ModelRunner<BenchFeatures, BenchScore> runner = null!;
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        var random = new Random(42);
        for (var i = 0; i < Rows; i++)
        {
            rows[i] = Enumerable.Range(0, RawFraudModel.Features).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            inputs[i] = new BenchFeatures(rows[i]);
        }

        raw = new RawFraudModel(path, batchSize: 1);
        session = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });
        runner = session.CreateRunner<BenchFeatures, BenchScore>();

        for (var i = 0; i < Rows; i++)
        {
            next = i;
            var direct = Direct();
            next = i;
            var baseline = RawCApi();
            if (direct != baseline)
            {
                throw new InvalidOperationException($"Row {i}: the direct path computed {direct}, the raw C API {baseline}.");
            }
        }

        next = 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        runner.Dispose();
        session.Dispose();
        raw.Dispose();
    }

    /// <summary>Copy the row into the input tensor, Run, read the probability.</summary>
    [Benchmark(Baseline = true)]
    public float RawCApi()
    {
        rows[next].CopyTo(raw.Input);
        next = (next + 1) & (Rows - 1);
        raw.Run();
        return raw.Output[0];
    }

    /// <summary>The direct path: rent pooled buffers, generated WriteRow, Run, generated ReadRow, return the buffers.</summary>
    [Benchmark]
    public float Direct()
    {
        var score = runner.Predict(inputs[next]);
        next = (next + 1) & (Rows - 1);
        return score.Probability;
    }
}

/// <summary>fraud.onnx's input as one float[30] member, bound by the generator.</summary>
[ModelInput]
public readonly partial record struct BenchFeatures([Tensor("features", Length = 30)] float[] Features);
