using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace InProcServe.Benchmarks;

/// <summary>
/// One fraud-MLP prediction (IntraOpThreads = 1) with fresh input values each call, every way a .NET developer can
/// make it, in one process on the one native library the official package loads: the raw C API Run (the floor), the
/// official managed API three ways, ML.NET's PredictionEngine, and InProcServe's untyped run, typed direct path and
/// bulk path.
/// </summary>
/// <remarks>
/// Every method cycles through the same 1,024 rows, so each call writes different values and none can reuse the
/// previous call's input; the setup fails unless every method computes the raw floor's probability for every row.
/// The bulk methods take 64 rows a call and report per row (OperationsPerInvoke), beside the raw Run at batch 64.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class PeerBenchmarks
{
    private const int Rows = 1024;
    private const int Bulk = 64;
    private const int Features = RawFraudModel.Features;

    private readonly float[][] rows = new float[Rows][];
    private readonly BenchFeatures[] inputs = new BenchFeatures[Rows];
    private readonly BenchScore[] scores = new BenchScore[Bulk];
    private RawFraudModel raw = null!;
    private RawFraudModel raw64 = null!;
    private int next;

    // The official managed API: one session, input and output values over arrays made once.
    private InferenceSession official = null!;
    private RunOptions runOptions = null!;
    private float[] officialInput = null!;
    private float[] officialOutput = null!;
    private OrtValue officialInputValue = null!;
    private OrtValue officialOutputValue = null!;
    private OrtIoBinding binding = null!;
    private string[] inputNames = null!;
    private string[] outputNames = null!;
    private OrtValue[] inputValues = null!;
    private OrtValue[] outputValues = null!;
    private DenseTensorHolder namedInput = null!;

    // ML.NET: ApplyOnnxModel and a prediction engine, as its docs show.
    private PredictionEngine<MlNetInput, MlNetOutput> engine = null!;
    private MlNetInput engineInput = null!;

    // InProcServe.
    private ModelSession session = null!;
    private ModelRunner<BenchFeatures, BenchScore> runner = null!;
    private TensorValue sessionInput = null!;
    private TensorValue sessionOutput = null!;
    private float[] sessionInputData = null!;
    private float[] sessionOutputData = null!;

    [GlobalSetup]
    public void Setup()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        var random = new Random(42);
        for (var i = 0; i < Rows; i++)
        {
            rows[i] = Enumerable.Range(0, Features).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            inputs[i] = new BenchFeatures(rows[i]);
        }

        session = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });
        runner = ModelRunner.Create<BenchFeatures, BenchScore>(session, maxBatchSize: Bulk);
        sessionInputData = new float[Features];
        sessionOutputData = new float[1];
        sessionInput = TensorValue.Create(sessionInputData, [1, Features]);
        sessionOutput = TensorValue.Create(sessionOutputData, [1, 1]);
        raw = new RawFraudModel(path, batchSize: 1);
        raw64 = new RawFraudModel(path, batchSize: Bulk);

        using (var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL, EnableCpuMemArena = false })
        {
            official = new InferenceSession(path, options);
        }

        runOptions = new RunOptions();
        officialInput = new float[Features];
        officialOutput = new float[1];
        officialInputValue = OrtValue.CreateTensorValueFromMemory(officialInput, [1, Features]);
        officialOutputValue = OrtValue.CreateTensorValueFromMemory(officialOutput, [1, 1]);
        binding = official.CreateIoBinding();
        binding.BindInput("features", officialInputValue);
        binding.BindOutput("probability", officialOutputValue);
        inputNames = ["features"];
        outputNames = ["probability"];
        inputValues = [officialInputValue];
        outputValues = [officialOutputValue];
        namedInput = new DenseTensorHolder(Features);

        var ml = new MLContext(seed: 0);
        var pipeline = ml.Transforms.ApplyOnnxModel(new Microsoft.ML.Transforms.Onnx.OnnxOptions
        {
            ModelFile = path,
            InputColumns = ["features"],
            OutputColumns = ["probability"],
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        });
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<MlNetInput>());
        engine = ml.Model.CreatePredictionEngine<MlNetInput, MlNetOutput>(pipeline.Fit(empty));
        engineInput = new MlNetInput();

        CheckEveryMethodAgrees();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        engine.Dispose();
        binding.Dispose();
        officialInputValue.Dispose();
        officialOutputValue.Dispose();
        runOptions.Dispose();
        official.Dispose();
        sessionInput.Dispose();
        sessionOutput.Dispose();
        runner.Dispose();
        session.Dispose();
        raw64.Dispose();
        raw.Dispose();
    }

    /// <summary>The floor: copy the row into the input tensor, the C API Run, read the probability.</summary>
    [Benchmark(Baseline = true)]
    public float RawCApi()
    {
        Next().CopyTo(raw.Input);
        raw.Run();
        return raw.Output[0];
    }

    /// <summary>Official API, the fastest way: values bound once, RunWithBinding.</summary>
    [Benchmark]
    public float Official_IoBinding()
    {
        Next().CopyTo(officialInput);
        official.RunWithBinding(runOptions, binding);
        return officialOutput[0];
    }

    /// <summary>Official API: OrtValues made once, Run with name and value collections.</summary>
    [Benchmark]
    public float Official_OrtValueRun()
    {
        Next().CopyTo(officialInput);
        official.Run(runOptions, inputNames, inputValues, outputNames, outputValues);
        return officialOutput[0];
    }

    /// <summary>Official API, the tutorial way: NamedOnnxValue over a DenseTensor, results allocated per run.</summary>
    [Benchmark]
    public float Official_NamedOnnxValue()
    {
        Next().CopyTo(namedInput.Buffer);
        using var results = official.Run([NamedOnnxValue.CreateFromTensor("features", namedInput.Tensor)]);
        return results.First().AsEnumerable<float>().First();
    }

    /// <summary>ML.NET: ApplyOnnxModel and PredictionEngine.Predict.</summary>
    [Benchmark]
    public float MlNet_PredictionEngine()
    {
        Next().CopyTo(engineInput.Features);
        return engine.Predict(engineInput).Probability[0];
    }

    /// <summary>InProcServe untyped: ModelSession.Run over caller tensors (validation and name lookups included).</summary>
    [Benchmark]
    public float InProcServe_SessionRun()
    {
        Next().CopyTo(sessionInputData);
        session.Run([("features", sessionInput)], [("probability", sessionOutput)]);
        return sessionOutputData[0];
    }

    /// <summary>InProcServe typed direct path: rent pooled bound buffers, generated WriteRow, Run, generated ReadRow.</summary>
    [Benchmark]
    public float InProcServe_Direct() => runner.Predict(inputs[Advance()]).Probability;

    /// <summary>The floor at batch 64, per row: copy 64 rows, one C API Run.</summary>
    [Benchmark(OperationsPerInvoke = Bulk)]
    public float RawCApi_Batch64()
    {
        var start = Advance(Bulk);
        for (var r = 0; r < Bulk; r++) rows[start + r].CopyTo(raw64.Input.Slice(r * Features));
        raw64.Run();
        return raw64.Output[Bulk - 1];
    }

    /// <summary>InProcServe bulk path, per row: 64 typed rows in one run.</summary>
    [Benchmark(OperationsPerInvoke = Bulk)]
    public float InProcServe_Bulk64()
    {
        var start = Advance(Bulk);
        runner.Predict(inputs.AsSpan(start, Bulk), scores);
        return scores[Bulk - 1].Probability;
    }

    private float[] Next() => rows[Advance()];

    private int Advance(int count = 1)
    {
        var current = next;
        next = (next + count) & (Rows - 1);
        return current;
    }

    /// <summary>Fails the setup unless every method computes the raw floor's probability for every row.</summary>
    private void CheckEveryMethodAgrees()
    {
        (string Name, Func<float> Call)[] methods =
        [
            (nameof(Official_IoBinding), Official_IoBinding), (nameof(Official_OrtValueRun), Official_OrtValueRun),
            (nameof(Official_NamedOnnxValue), Official_NamedOnnxValue), (nameof(MlNet_PredictionEngine), MlNet_PredictionEngine),
            (nameof(InProcServe_SessionRun), InProcServe_SessionRun), (nameof(InProcServe_Direct), InProcServe_Direct),
        ];
        for (var i = 0; i < Rows; i++)
        {
            next = i;
            var expected = RawCApi();
            foreach (var (name, call) in methods)
            {
                next = i;
                if (Math.Abs(call() - expected) > 1e-6f)
                {
                    throw new InvalidOperationException($"Row {i}: {name} disagrees with the raw C API ({expected}).");
                }
            }
        }

        next = 0;
        var rawLast = RawCApi_Batch64();
        next = 0;
        if (Math.Abs(InProcServe_Bulk64() - rawLast) > 1e-6f)
        {
            throw new InvalidOperationException("The bulk path disagrees with the raw C API at batch 64.");
        }

        next = 0;
    }

    /// <summary>The tutorial's input: a DenseTensor over an array, refilled each call.</summary>
    private sealed class DenseTensorHolder(int features)
    {
        internal float[] Buffer { get; } = new float[features];

        internal Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float> Tensor => new(Buffer, [1, features]);
    }
}

/// <summary>fraud.onnx's input as one float[30] member, bound by the generator.</summary>
[ModelInput]
public readonly partial record struct BenchFeatures([Tensor("features", Length = 30)] float[] Features);

/// <summary>ML.NET's view of fraud.onnx's input.</summary>
public sealed class MlNetInput
{
    [ColumnName("features")]
    [VectorType(30)]
    public float[] Features { get; set; } = new float[30];
}

/// <summary>ML.NET's view of fraud.onnx's output.</summary>
public sealed class MlNetOutput
{
    [ColumnName("probability")]
    [VectorType(1)]
    public float[] Probability { get; set; } = [];
}
