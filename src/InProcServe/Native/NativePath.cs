using System.Runtime.InteropServices;

namespace InProcServe.Native;

/// <summary>
/// A file path as ONNX Runtime's <c>ORTCHAR_T*</c> wants it: UTF-16 (<c>wchar_t</c>) on Windows,
/// UTF-8 (<c>char</c>) elsewhere. Owns a NUL-terminated native copy until disposed.
/// </summary>
internal readonly unsafe struct NativePath : IDisposable
{
    private readonly nint text;

    internal NativePath(string path) =>
        text = OperatingSystem.IsWindows() ? Marshal.StringToHGlobalUni(path) : Marshal.StringToCoTaskMemUTF8(path);

    /// <summary>The <c>ORTCHAR_T*</c> pointer, typed as the byte pointer the binding passes.</summary>
    internal byte* Pointer => (byte*)text;

    public void Dispose()
    {
        if (OperatingSystem.IsWindows()) Marshal.FreeHGlobal(text);
        else Marshal.FreeCoTaskMem(text);
    }
}
