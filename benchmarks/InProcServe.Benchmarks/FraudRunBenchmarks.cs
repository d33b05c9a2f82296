using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using InProcServe.Native;

namespace InProcServe.Benchmarks;

/// <summary>
/// One run of the fraud MLP (models/fraud.onnx: "features" float32 [N,30] → "probability" float32 [N,1]),
/// single-threaded (IntraOpThreads = 1), through each InProcServe entry point and, as the baseline, the raw
/// ONNX Runtime C API call through the same function-pointer table with no InProcServe logic around it.
/// </summary>
/// <remarks>
/// The baseline's session is created by <see cref="RawFraudModel.CreateSession"/> with the options ModelSession.Load
/// uses for <c>new ModelSessionOptions { IntraOpThreads = 1 }</c>. Every method reads the same
/// input tensor; the caller-output methods write the same output tensor.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public unsafe class FraudRunBenchmarks
{
    private const int Features = 30;

    private ModelSession session = null!;
    private TensorValue input = null!;
    private TensorValue output = null!;
    private CancellationTokenSource neverCanceled = null!;
    private CancellationToken cancellable;

    // The baseline: a raw OrtSession* and the four pointer arrays OrtApi.Run takes, all in native memory.
    private nint rawSession;
    private byte* rawNames;
    private nint* rawInputNames;
    private nint* rawInputValues;
    private nint* rawOutputNames;
    private nint* rawOutputValues;

    /// <summary>Rows per run.</summary>
    [Params(1, 64)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        session = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });

        var random = new Random(42);
        var features = new float[BatchSize * Features];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = (float)(random.NextDouble() * 2 - 1);
        }

        input = TensorValue.Create(features, [BatchSize, Features]);
        output = TensorValue.Create(new float[BatchSize], [BatchSize, 1]);
        neverCanceled = new CancellationTokenSource();
        cancellable = neverCanceled.Token;

        rawSession = RawFraudModel.CreateSession(path);
        rawNames = (byte*)NativeMemory.AllocZeroed(64);
        var inputName = rawNames;
        var outputName = rawNames + 32;
        Encoding.UTF8.GetBytes("features", new Span<byte>(inputName, 31));
        Encoding.UTF8.GetBytes("probability", new Span<byte>(outputName, 31));
        rawInputNames = (nint*)NativeMemory.Alloc(4, (nuint)sizeof(nint));
        rawInputValues = rawInputNames + 1;
        rawOutputNames = rawInputNames + 2;
        rawOutputValues = rawInputNames + 3;
        *rawInputNames = (nint)inputName;
        *rawInputValues = input.Handle.DangerousGetHandle();
        *rawOutputNames = (nint)outputName;
        *rawOutputValues = output.Handle.DangerousGetHandle();

        CheckAllMethodsAgree();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        OrtApi.ReleaseSession(rawSession);
        NativeMemory.Free(rawInputNames);
        NativeMemory.Free(rawNames);
        neverCanceled.Dispose();
        output.Dispose();
        input.Dispose();
        session.Dispose();
    }

    /// <summary>The C API call alone: pointers prepared in setup, one status check.</summary>
    [Benchmark(Baseline = true)]
    public void RawCApi() =>
        OrtStatus.Check(OrtApi.Run(rawSession, 0, rawInputNames, rawInputValues, 1, rawOutputNames, 1, rawOutputValues));

    /// <summary>The public fast path: validation, name lookups and handle references included.</summary>
    [Benchmark]
    public void SessionRun_CallerOutputs() =>
        session.Run([("features", input)], [("probability", output)]);

    /// <summary>ONNX Runtime allocates the output, wrapped in a TensorValue inside RunOutputs, then freed.</summary>
    [Benchmark]
    public void SessionRun_OrtAllocatedOutputs()
    {
        using var outputs = session.Run([("features", input)]);
    }

    /// <summary>As <see cref="SessionRun_CallerOutputs"/> with a token that can be canceled (never is): per-run run options and a registration.</summary>
    [Benchmark]
    public void SessionRun_Cancellable() =>
        session.Run([("features", input)], [("probability", output)], cancellable);

    /// <summary>Fails the setup unless every method computes the same probabilities.</summary>
    private void CheckAllMethodsAgree()
    {
        RawCApi();
        var expected = output.GetSpan<float>().ToArray();
        if (expected.All(p => p == 0))
        {
            throw new InvalidOperationException("The raw run wrote no output.");
        }

        void Expect(string method, ReadOnlySpan<float> actual)
        {
            if (!actual.SequenceEqual(expected))
            {
                throw new InvalidOperationException($"{method} disagrees with {nameof(RawCApi)}.");
            }
        }

        output.GetSpan<float>().Clear();
        SessionRun_CallerOutputs();
        Expect(nameof(SessionRun_CallerOutputs), output.GetSpan<float>());

        output.GetSpan<float>().Clear();
        SessionRun_Cancellable();
        Expect(nameof(SessionRun_Cancellable), output.GetSpan<float>());

        using var outputs = session.Run([("features", input)]);
        Expect(nameof(SessionRun_OrtAllocatedOutputs), outputs["probability"].GetSpan<float>());
    }
}
