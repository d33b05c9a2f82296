using System.Runtime.InteropServices;
using System.Text;

namespace InProcServe.Benchmarks;

/// <summary>
/// The floor every path is measured against: the fraud MLP (models/fraud.onnx: "features" float32 [N,30] →
/// "probability" float32 [N,1]) run through the ONNX Runtime C API itself, on the same native library the official
/// managed package loaded into this process, with nothing around the call. Input and output live in native memory of
/// a fixed batch size; the caller writes fresh input values into <see cref="Input"/> before each <see cref="Run"/>.
/// </summary>
/// <remarks>
/// A measuring stick only, never product code: InProcServe itself calls ONNX Runtime through the official API. The
/// few C functions are read by index from the <c>OrtApi</c> table (onnxruntime_c_api.h; append-only, so an index
/// holds in every later version). The session gets the options ModelSession.Load uses for
/// <c>new ModelSessionOptions { IntraOpThreads = 1 }</c>: intra-op threads 1, graph optimization All, CPU arena off.
/// </remarks>
internal sealed unsafe class RawFraudModel : IDisposable
{
    internal const int Features = 30;

    private static readonly nint* Api = LoadApi();

    private readonly nint session;
    private readonly nint inputValue;
    private readonly nint outputValue;
    private readonly float* input;
    private readonly float* output;

    // Name pointers and value pointers, the four arrays Run takes, in one native block.
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
        Check(((delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)Api[9])(session, 0, pointers, pointers + 1, 1, pointers + 2, 1, pointers + 3));

    public void Dispose()
    {
        ((delegate* unmanaged<nint, void>)Api[96])(inputValue);  // ReleaseValue
        ((delegate* unmanaged<nint, void>)Api[96])(outputValue);
        ((delegate* unmanaged<nint, void>)Api[95])(session);     // ReleaseSession
        NativeMemory.Free(pointers);
        NativeMemory.Free(names);
        NativeMemory.AlignedFree(input);
        NativeMemory.AlignedFree(output);
    }

    /// <summary>The OrtApi table of the libonnxruntime the official package mapped (started through InProcServe first).</summary>
    private static nint* LoadApi()
    {
        OnnxRuntime.Initialize();
        var library = NativeLibrary.Load(OnnxRuntime.LibraryPath);
        var apiBase = ((delegate* unmanaged<nint*>)NativeLibrary.GetExport(library, "OrtGetApiBase"))();
        return ((delegate* unmanaged<uint, nint*>)apiBase[0])(15);
    }

    private static nint CreateSession(string path)
    {
        nint env, options, created;
        // CreateEnv hands back the process's one env, which the official package created already.
        fixed (byte* logId = "raw"u8)
        {
            Check(((delegate* unmanaged<int, byte*, nint*, nint>)Api[3])(3, logId, &env));
        }

        Check(((delegate* unmanaged<nint*, nint>)Api[10])(&options));                  // CreateSessionOptions
        try
        {
            Check(((delegate* unmanaged<nint, int, nint>)Api[24])(options, 1));        // SetIntraOpNumThreads
            Check(((delegate* unmanaged<nint, int, nint>)Api[23])(options, 99));       // SetSessionGraphOptimizationLevel(All)
            Check(((delegate* unmanaged<nint, nint>)Api[19])(options));                // DisableCpuMemArena
            fixed (byte* pathBytes = Encoding.UTF8.GetBytes(path + "\0"))
            {
                Check(((delegate* unmanaged<nint, byte*, nint, nint*, nint>)Api[7])(env, pathBytes, options, &created)); // CreateSession
            }

            return created;
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)Api[100])(options);                      // ReleaseSessionOptions
        }
    }

    private static nint CreateTensor(float* data, int rows, int columns)
    {
        nint memoryInfo, value;
        Check(((delegate* unmanaged<int, int, nint*, nint>)Api[69])(1, 0, &memoryInfo)); // CreateCpuMemoryInfo(Arena, Default)
        var shape = stackalloc long[] { rows, columns };
        Check(((delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)Api[49])( // CreateTensorWithDataAsOrtValue
            memoryInfo, data, (nuint)(rows * columns * sizeof(float)), shape, 2, 1, &value));
        ((delegate* unmanaged<nint, void>)Api[94])(memoryInfo);                          // ReleaseMemoryInfo
        return value;
    }

    private static void Check(nint status)
    {
        if (status != 0)
        {
            var message = Marshal.PtrToStringUTF8((nint)((delegate* unmanaged<nint, byte*>)Api[2])(status));
            ((delegate* unmanaged<nint, void>)Api[93])(status);
            throw new InvalidOperationException($"ONNX Runtime C API: {message}");
        }
    }
}
