using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace InProcServe.Native;

/// <summary>
/// The one way a native <c>OrtStatus*</c> becomes an exception: read its code and message, release it,
/// throw <see cref="OnnxRuntimeException"/>. Every C API call that returns a status goes through here.
/// </summary>
internal static unsafe class OrtStatus
{
    /// <summary>Throws if <paramref name="status"/> is not NULL (success); releases it either way.</summary>
    /// <param name="status">The status a C API call returned.</param>
    /// <param name="context">What was being done, prefixed to ONNX Runtime's message ("Model 'fraud': Run failed").</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(nint status, string? context = null)
    {
        if (status != 0)
        {
            Throw(status, context);
        }
    }

    /// <summary>Reads and releases a failed status, returning the exception to throw.</summary>
    internal static OnnxRuntimeException ToException(nint status, string? context)
    {
        var code = OrtApi.GetErrorCode(status);
        var message = Marshal.PtrToStringUTF8((nint)OrtApi.GetErrorMessage(status)) ?? "(no message)";
        OrtApi.ReleaseStatus(status);
        return new OnnxRuntimeException(code, context is null ? message : $"{context}: {message}");
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(nint status, string? context) => throw ToException(status, context);
}
