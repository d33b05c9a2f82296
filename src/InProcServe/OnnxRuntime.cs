using System.Runtime.InteropServices;
using InProcServe.Native;

namespace InProcServe;

/// <summary>
/// The native ONNX Runtime library InProcServe runs on: where it is loaded from, its version and what
/// it can run on. The library loads by itself when the first model is loaded; call
/// <see cref="Initialize(string)"/> only to choose the file or to fail early, and
/// <see cref="Initialize(OnnxRuntimeOptions)"/> to choose process-wide settings such as global thread pools.
/// </summary>
/// <remarks>
/// Without an explicit path, the library is looked for, in order: the file or folder named by the
/// <c>INPROCSERVE_ONNXRUNTIME</c> environment variable (when set, the only place tried), the app folder,
/// <c>runtimes/&lt;rid&gt;/native/</c> under it (the layout of the official native NuGet packages),
/// then the operating system's library search. When nothing loads, the exception lists every place
/// tried and why each failed.
/// </remarks>
public static unsafe class OnnxRuntime
{
    /// <summary>Loads ONNX Runtime now, from <paramref name="libraryPath"/> when given.</summary>
    /// <param name="libraryPath">
    /// The library file, or a folder holding it. When given, it is the only place tried. Default: null,
    /// which searches as described on <see cref="OnnxRuntime"/>.
    /// </param>
    /// <exception cref="DllNotFoundException">The library could not be loaded; the message lists each place tried.</exception>
    /// <exception cref="InvalidOperationException">The library was already loaded from a different path.</exception>
    public static void Initialize(string? libraryPath = null)
    {
        OrtLibrary.EnsureLoaded(libraryPath);
        OrtEnvironment.EnsureCreated();
    }

    /// <summary>
    /// Loads ONNX Runtime now and creates its process-wide environment with <paramref name="options"/>. Call
    /// it at startup, before the first model is loaded; calling it again with the same options does nothing.
    /// </summary>
    /// <param name="options">The library to load and how sessions share threads.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names every invalid value.</exception>
    /// <exception cref="DllNotFoundException">The library could not be loaded; the message lists each place tried.</exception>
    /// <exception cref="InvalidOperationException">
    /// The library was already loaded from a different path, or the environment already exists with other
    /// thread pools (a model was loaded first, or an earlier call chose differently).
    /// </exception>
    public static void Initialize(OnnxRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        OrtLibrary.EnsureLoaded(options.LibraryPath);
        OrtEnvironment.EnsureCreated(options.UseGlobalThreadPools ? options.GlobalIntraOpThreads : null);
    }

    /// <summary>The version of the loaded library, such as "1.30.0". Loads the library if needed.</summary>
    public static string Version
    {
        get
        {
            Initialize();
            return OrtLibrary.LoadedVersion!;
        }
    }

    /// <summary>The path (or OS search name) the library was loaded from. Loads the library if needed.</summary>
    public static string LibraryPath
    {
        get
        {
            Initialize();
            return OrtLibrary.LoadedFrom!;
        }
    }

    /// <summary>How the library was built (version, git commit, build type). Loads the library if needed.</summary>
    public static string BuildInfo
    {
        get
        {
            Initialize();
            return Marshal.PtrToStringUTF8((nint)OrtApi.GetBuildInfoString()) ?? "";
        }
    }

    /// <summary>
    /// The execution providers this build of ONNX Runtime includes, such as "CPUExecutionProvider" or
    /// "CUDAExecutionProvider". Loads the library if needed.
    /// </summary>
    public static IReadOnlyList<string> GetAvailableProviders()
    {
        Initialize();
        byte** names;
        int count;
        OrtStatus.Check(OrtApi.GetAvailableProviders(&names, &count), "Listing execution providers");
        try
        {
            var providers = new string[count];
            for (var i = 0; i < count; i++)
            {
                providers[i] = Marshal.PtrToStringUTF8((nint)names[i]) ?? "";
            }

            return providers;
        }
        finally
        {
            OrtStatus.Check(OrtApi.ReleaseAvailableProviders(names, count));
        }
    }
}
