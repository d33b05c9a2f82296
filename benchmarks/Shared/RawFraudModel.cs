using System.Runtime.InteropServices;
using System.Text;
using InProcServe.Native;

namespace InProcServe.Benchmarks;

/// <summary>
/// The baseline every InProcServe path is measured against: the fraud MLP (models/fraud.onnx: "features"
/// float32 [N,30] → "probability" float32 [N,1]) run through the raw ONNX Runtime C API, with no InProcServe
/// logic around the call. Input and output live in native memory of a fixed batch size; the caller writes fresh
/// input values into <see cref="Input"/> before each <see cref="Run"/>.
/// </summary>
/// <remarks>
/// The session gets the options ModelSession.Load uses for <c>new ModelSessionOptions { IntraOpThreads = 1 }</c>
/// (intra-op threads 1, graph optimization All, CPU memory arena off), because ModelSession does not expose its
/// native handle. Compiled into each benchmark project from benchmarks/Shared.
/// </remarks>
internal sealed unsafe class RawFraudModel : IDisposable
{
    internal const int Features = 30;

    private readonly nint session;
    private readonly nint inputValue;
    private readonly nint outputValue;
    private readonly float* input;
    private readonly float* output;

    // Name pointers and value pointers, the four arrays OrtApi.Run takes, in one native block.
    private readonly nint* pointers;
    private readonly byte* names;

    internal RawFraudModel(string path, int batchSize)
    {
        BatchSize = batchSize;
        session = CreateSession(path);
        input = (float*)NativeMemory.AlignedAlloc((nuint)(batchSize * Features * sizeof(float)), 64);
        output = (float*)NativeMemory.AlignedAlloc((nuint)(batchSize * sizeof(float)), 64);
        NativeMemory.Clear(input, (nuint)(batchSize * Features * sizeof(float)));
        inputValue = CreateTensor(input, batchSize, Features);
        outputValue = CreateTensor(output, batchSize, 1);

        names = (byte*)NativeMemory.AllocZeroed(64);
        Encoding.UTF8.GetBytes("features", new Span<byte>(names, 31));
        Encoding.UTF8.GetBytes("probability", new Span<byte>(names + 32, 31));
        pointers = (nint*)NativeMemory.Alloc(4, (nuint)sizeof(nint));
        pointers[0] = (nint)names;
        pointers[1] = inputValue;
        pointers[2] = (nint)(names + 32);
        pointers[3] = outputValue;
    }

    internal int BatchSize { get; }

    /// <summary>The input rows, row-major: row i is elements [i * 30, (i + 1) * 30).</summary>
    internal Span<float> Input => new(input, BatchSize * Features);

    /// <summary>One probability per row, written by <see cref="Run"/>.</summary>
    internal Span<float> Output => new(output, BatchSize);

    /// <summary>The C API call alone: pointers prepared up front, one status check.</summary>
    internal void Run() =>
        OrtStatus.Check(OrtApi.Run(session, 0, pointers, pointers + 1, 1, pointers + 2, 1, pointers + 3));

    /// <summary>Creates a raw session of <paramref name="path"/> with ModelSession's single-threaded defaults.</summary>
    internal static nint CreateSession(string path)
    {
        OrtEnvironment.EnsureCreated();
        nint options;
        OrtStatus.Check(OrtApi.CreateSessionOptions(&options), "CreateSessionOptions");
        try
        {
            OrtStatus.Check(OrtApi.SetIntraOpNumThreads(options, 1), "SetIntraOpNumThreads");
            OrtStatus.Check(OrtApi.SetSessionGraphOptimizationLevel(options, GraphOptimizationLevel.All), "SetSessionGraphOptimizationLevel");
            OrtStatus.Check(OrtApi.DisableCpuMemArena(options), "DisableCpuMemArena");
            var bytes = Encoding.UTF8.GetBytes(path + "\0");
            nint created;
            fixed (byte* pathPointer = bytes)
            {
                OrtStatus.Check(OrtApi.CreateSession(OrtEnvironment.Handle, pathPointer, options, &created), "CreateSession");
            }

            return created;
        }
        finally
        {
            OrtApi.ReleaseSessionOptions(options);
        }
    }

    public void Dispose()
    {
        OrtApi.ReleaseValue(inputValue);
        OrtApi.ReleaseValue(outputValue);
        OrtApi.ReleaseSession(session);
        NativeMemory.Free(pointers);
        NativeMemory.Free(names);
        NativeMemory.AlignedFree(input);
        NativeMemory.AlignedFree(output);
    }

    private static nint CreateTensor(float* data, int rows, int columns)
    {
        var shape = stackalloc long[] { rows, columns };
        nint value;
        OrtStatus.Check(
            OrtApi.CreateTensorWithDataAsOrtValue(OrtEnvironment.CpuMemoryInfo, data, (nuint)(rows * columns * sizeof(float)), shape, 2, TensorElementType.Float, &value),
            "CreateTensorWithDataAsOrtValue");
        return value;
    }
}
