using System.Runtime.InteropServices;

namespace InProcServe.Native;

/// <summary>
/// Process-wide ONNX Runtime state: the one <c>OrtEnv</c> (with per-session or global thread pools), the
/// CPU arena sessions can share through it, the CPU memory info that tensors over .NET memory are created
/// with, and the default allocator that frees strings ONNX Runtime hands out.
/// </summary>
/// <remarks>
/// None of these is ever released. ONNX Runtime returns the same env to every CreateEnv call in a
/// process and requires it to outlive every session; releasing it at process exit races with sessions
/// finalized at the same time, so it lives as long as the process, as in ONNX Runtime's own bindings.
/// </remarks>
internal static unsafe class OrtEnvironment
{
    private static readonly Lock Gate = new();
    private static nint env;
    private static bool sharedCpuArena;

    /// <summary>The <c>OrtEnv*</c>.</summary>
    internal static nint Handle => env;

    /// <summary>CPU memory info (arena allocator, default memory type) for tensors over .NET memory.</summary>
    internal static nint CpuMemoryInfo { get; private set; }

    /// <summary>ONNX Runtime's default CPU allocator: frees names and metadata strings; never released.</summary>
    internal static nint DefaultAllocator { get; private set; }

    /// <summary>
    /// The intra-op thread count of the global thread pool the env was created with (0: ONNX Runtime's
    /// choice), or null while sessions have their own pools, which is also the case before the env exists.
    /// </summary>
    internal static int? GlobalIntraOpThreads { get; private set; }

    /// <summary>Loads the library (see <see cref="OrtLibrary"/>) and creates the env once, with per-session thread pools.</summary>
    internal static void EnsureCreated()
    {
        if (Volatile.Read(ref env) != 0)
        {
            return;
        }

        lock (Gate)
        {
            if (env == 0)
            {
                Create(globalIntraOpThreads: null);
            }
        }
    }

    /// <summary>
    /// Creates the env with exactly this threading, or checks that the existing env has it: ONNX Runtime
    /// returns the existing env to every later CreateEnv call and ignores the threading asked for.
    /// </summary>
    /// <param name="globalIntraOpThreads">The global intra-op pool size, or null for per-session pools.</param>
    /// <exception cref="InvalidOperationException">The env already exists with other threading.</exception>
    internal static void EnsureCreated(int? globalIntraOpThreads)
    {
        lock (Gate)
        {
            if (env == 0)
            {
                Create(globalIntraOpThreads);
            }
            else if (GlobalIntraOpThreads != globalIntraOpThreads)
            {
                throw new InvalidOperationException(
                    $"The ONNX Runtime environment already exists with {DescribeThreading(GlobalIntraOpThreads)}, so it can't use " +
                    $"{DescribeThreading(globalIntraOpThreads)}: it is created once per process, by the first model load or OnnxRuntime.Initialize call. " +
                    "Call OnnxRuntime.Initialize with these options at startup, before any model is loaded.");
            }
        }
    }

    /// <summary>
    /// Registers one CPU arena with the env the first time a session asks to share it; sessions created with
    /// <c>session.use_env_allocators</c> then allocate from it instead of their own. It lives as long as the env.
    /// </summary>
    internal static void EnsureSharedCpuArena()
    {
        lock (Gate)
        {
            if (!sharedCpuArena)
            {
                // NULL arena configuration: ONNX Runtime's defaults (no limit, grow by powers of two).
                OrtStatus.Check(OrtApi.CreateAndRegisterAllocator(env, CpuMemoryInfo, 0), "Registering the shared CPU arena");
                sharedCpuArena = true;
            }
        }
    }

    private static void Create(int? globalIntraOpThreads)
    {
        OrtLibrary.EnsureLoaded();
        nint created, memoryInfo, allocator;
        // Warnings are left out: ONNX Runtime writes them, colored, to stderr; every error that
        // matters to a caller comes back as a status and becomes an exception.
        fixed (byte* logId = "InProcServe"u8)
        {
            if (globalIntraOpThreads is { } intraOpThreads)
            {
                const string context = "Creating the ONNX Runtime environment with global thread pools";
                nint threadingOptions;
                OrtStatus.Check(OrtApi.CreateThreadingOptions(&threadingOptions), context);
                using var threading = new OrtThreadingOptionsHandle(threadingOptions);
                OrtStatus.Check(OrtApi.SetGlobalIntraOpNumThreads(threadingOptions, intraOpThreads), context);
                // The inter-op pool only serves sessions in parallel execution mode, which per-session thread
                // settings choose and global pools exclude: 1 creates no threads instead of one per core.
                OrtStatus.Check(OrtApi.SetGlobalInterOpNumThreads(threadingOptions, 1), context);
                OrtStatus.Check(OrtApi.CreateEnvWithGlobalThreadPools(OrtLoggingLevel.Error, logId, threadingOptions, &created), context);
            }
            else
            {
                OrtStatus.Check(OrtApi.CreateEnv(OrtLoggingLevel.Error, logId, &created), "Creating the ONNX Runtime environment");
            }
        }

        OrtStatus.Check(OrtApi.CreateCpuMemoryInfo(OrtAllocatorType.Arena, OrtMemType.Default, &memoryInfo), "Creating CPU memory info");
        OrtStatus.Check(OrtApi.GetAllocatorWithDefaultOptions(&allocator), "Getting the default allocator");
        CpuMemoryInfo = memoryInfo;
        DefaultAllocator = allocator;
        GlobalIntraOpThreads = globalIntraOpThreads;
        Volatile.Write(ref env, created);
    }

    private static string DescribeThreading(int? globalIntraOpThreads) => globalIntraOpThreads switch
    {
        null => "per-session thread pools",
        0 => "global thread pools (intra-op threads: ONNX Runtime's choice)",
        var threads => $"global thread pools ({threads} intra-op threads)",
    };

    /// <summary>Copies a string ONNX Runtime allocated with the default allocator, then frees it.</summary>
    internal static string TakeString(byte* text)
    {
        try
        {
            return Marshal.PtrToStringUTF8((nint)text) ?? "";
        }
        finally
        {
            OrtApi.AllocatorFree(DefaultAllocator, text);
        }
    }
}
