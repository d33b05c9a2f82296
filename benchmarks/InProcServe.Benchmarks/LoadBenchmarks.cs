using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;

namespace InProcServe.Benchmarks;

/// <summary>
/// Loading the fraud MLP and making its first prediction, each way <see cref="PeerBenchmarks"/> compares: a new
/// session (or pipeline) per invocation, one call on it, then disposed. Cold start: every iteration is one invocation
/// with no warm-up, so the figure includes what the first call on a fresh session pays (ONNX Runtime plans its memory
/// then), though not the process's first ONNX Runtime use (the env exists already).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.ColdStart, launchCount: 1, warmupCount: 3, iterationCount: 20)]
public class LoadBenchmarks
{
    private readonly float[] features = Enumerable.Range(0, RawFraudModel.Features).Select(i => (float)Math.Sin(i)).ToArray();
    private string path = null!;
    private byte[] bytes = null!;
    private MLContext ml = null!;

    [GlobalSetup]
    public void Setup()
    {
        path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        bytes = File.ReadAllBytes(path);
        ml = new MLContext(seed: 0);
        OnnxRuntime.Initialize();
    }

    /// <summary>The C API: CreateSession and one Run.</summary>
    [Benchmark(Baseline = true)]
    public float RawCApi()
    {
        using var raw = new RawFraudModel(path, 1);
        features.CopyTo(raw.Input);
        raw.Run();
        return raw.Output[0];
    }

    /// <summary>The official API: new InferenceSession and one bound run.</summary>
    [Benchmark]
    public float Official()
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, EnableCpuMemArena = false };
        using var session = new InferenceSession(path, options);
        using var input = OrtValue.CreateTensorValueFromMemory(features, [1, 30]);
        var output = new float[1];
        using var outputValue = OrtValue.CreateTensorValueFromMemory(output, [1, 1]);
        using var runOptions = new RunOptions();
        session.Run(runOptions, ["features"], [input], ["probability"], [outputValue]);
        return output[0];
    }

    /// <summary>ML.NET: ApplyOnnxModel, Fit, CreatePredictionEngine and one Predict.</summary>
    [Benchmark]
    public float MlNet()
    {
        var pipeline = ml.Transforms.ApplyOnnxModel(new Microsoft.ML.Transforms.Onnx.OnnxOptions
        {
            ModelFile = path, InputColumns = ["features"], OutputColumns = ["probability"], IntraOpNumThreads = 1, InterOpNumThreads = 1,
        });
        using var transformer = pipeline.Fit(ml.Data.LoadFromEnumerable(Array.Empty<MlNetInput>()));
        using var engine = ml.Model.CreatePredictionEngine<MlNetInput, MlNetOutput>(transformer);
        return engine.Predict(new MlNetInput { Features = features }).Probability[0];
    }

    /// <summary>InProcServe: ModelSession.Load, ModelRunner.Create (the contract checked against the model) and one typed Predict.</summary>
    [Benchmark]
    public float InProcServe()
    {
        using var session = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });
        using var runner = ModelRunner.Create<BenchFeatures, BenchScore>(session);
        return runner.Predict(new BenchFeatures(features)).Probability;
    }

    /// <summary>InProcServe from bytes (an embedded model), as the sample web app loads it.</summary>
    [Benchmark]
    public float InProcServe_FromBytes()
    {
        using var session = ModelSession.Load(bytes, new ModelSessionOptions { IntraOpThreads = 1 });
        using var runner = ModelRunner.Create<BenchFeatures, BenchScore>(session);
        return runner.Predict(new BenchFeatures(features)).Probability;
    }
}
