using System.Runtime.InteropServices;

namespace InProcServe.Native;

/// <summary>
/// Process-wide ONNX Runtime state: the one <c>OrtEnv</c>, the CPU memory info that tensors over .NET
/// memory are created with, and the default allocator that frees strings ONNX Runtime hands out.
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

    /// <summary>The <c>OrtEnv*</c>.</summary>
    internal static nint Handle => env;

    /// <summary>CPU memory info (arena allocator, default memory type) for tensors over .NET memory.</summary>
    internal static nint CpuMemoryInfo { get; private set; }

    /// <summary>ONNX Runtime's default CPU allocator: frees names and metadata strings; never released.</summary>
    internal static nint DefaultAllocator { get; private set; }

    /// <summary>Loads the library (see <see cref="OrtLibrary"/>) and creates the env once.</summary>
    internal static void EnsureCreated()
    {
        if (Volatile.Read(ref env) != 0)
        {
            return;
        }

        lock (Gate)
        {
            if (env != 0)
            {
                return;
            }

            OrtLibrary.EnsureLoaded();
            nint created, memoryInfo, allocator;
            // Warnings are left out: ONNX Runtime writes them, colored, to stderr; every error that
            // matters to a caller comes back as a status and becomes an exception.
            fixed (byte* logId = "InProcServe"u8)
            {
                OrtStatus.Check(OrtApi.CreateEnv(OrtLoggingLevel.Error, logId, &created), "Creating the ONNX Runtime environment");
            }

            OrtStatus.Check(OrtApi.CreateCpuMemoryInfo(OrtAllocatorType.Arena, OrtMemType.Default, &memoryInfo), "Creating CPU memory info");
            OrtStatus.Check(OrtApi.GetAllocatorWithDefaultOptions(&allocator), "Getting the default allocator");
            CpuMemoryInfo = memoryInfo;
            DefaultAllocator = allocator;
            Volatile.Write(ref env, created);
        }
    }

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
