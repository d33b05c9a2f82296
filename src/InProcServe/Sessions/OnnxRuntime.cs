namespace InProcServe;

/// <summary>
/// The ONNX Runtime InProcServe runs on: the official Microsoft.ML.OnnxRuntime packages, their version and what
/// they can run on. ONNX Runtime starts by itself when the first model is loaded; call
/// <see cref="Initialize(string)"/> only to run on another native library or to fail early, and
/// <see cref="Initialize(OnnxRuntimeOptions)"/> to choose process-wide settings such as global thread pools.
/// </summary>
/// <remarks>
/// The native library is the one the official native package referenced by the app puts beside it:
/// Microsoft.ML.OnnxRuntime (CPU, every platform it ships; InProcServe brings it) or Microsoft.ML.OnnxRuntime.Gpu.Linux
/// (CUDA and TensorRT). A custom build is used when <see cref="Initialize(string)"/> or the <c>INPROCSERVE_ONNXRUNTIME</c>
/// environment variable names it, before anything in the process used ONNX Runtime. InProcServe shares the one
/// library and the one ONNX Runtime environment with any other code of the app that uses the official API.
/// </remarks>
public static class OnnxRuntime
{
    /// <summary>Starts ONNX Runtime now, on the library at <paramref name="libraryPath"/> when given.</summary>
    /// <param name="libraryPath">
    /// A custom libonnxruntime file, or a folder holding it, of the version the official managed package expects.
    /// Default: null, the <c>INPROCSERVE_ONNXRUNTIME</c> environment variable when set, else the official packages' library.
    /// </param>
    /// <exception cref="DllNotFoundException">The library could not be loaded; the message names it and why.</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime already runs on another library in this process.</exception>
    public static void Initialize(string? libraryPath = null)
    {
        OrtEnvironment.ChooseLibrary(libraryPath);
        OrtEnvironment.EnsureCreated();
    }

    /// <summary>
    /// Starts ONNX Runtime now and creates its process-wide environment with <paramref name="options"/>. Call
    /// it at startup, before the first model is loaded; calling it again with the same options does nothing.
    /// </summary>
    /// <param name="options">The library to load and how sessions share threads.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names every invalid value.</exception>
    /// <exception cref="DllNotFoundException">The library could not be loaded; the message names it and why.</exception>
    /// <exception cref="InvalidOperationException">
    /// ONNX Runtime already runs on another library, or its environment already exists with other thread pools
    /// (a model was loaded first, an earlier call chose differently, or other code of the app created it).
    /// </exception>
    public static void Initialize(OnnxRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        OrtEnvironment.ChooseLibrary(options.LibraryPath);
        OrtEnvironment.EnsureCreated(options.UseGlobalThreadPools ? options.GlobalIntraOpThreads : null);
    }

    /// <summary>The version of the running ONNX Runtime, such as "1.31.0". Starts it if needed.</summary>
    public static string Version
    {
        get
        {
            Initialize();
            return OrtErrors.Run(OrtEnvironment.Env.GetVersionString, "Reading the ONNX Runtime version");
        }
    }

    /// <summary>
    /// The path of the native library in use: the custom file given to <see cref="Initialize(string)"/> or
    /// <c>INPROCSERVE_ONNXRUNTIME</c>, else the mapped libonnxruntime where the operating system tells it (Linux),
    /// else the name the official assembly loads. Starts ONNX Runtime if needed.
    /// </summary>
    public static string LibraryPath
    {
        get
        {
            Initialize();
            return OrtEnvironment.MappedLibrary() ?? "onnxruntime (resolved by Microsoft.ML.OnnxRuntime)";
        }
    }

    /// <summary>
    /// The execution providers this build of ONNX Runtime includes, such as "CPUExecutionProvider" or
    /// "CUDAExecutionProvider". Starts ONNX Runtime if needed.
    /// </summary>
    public static IReadOnlyList<string> GetAvailableProviders()
    {
        Initialize();
        return OrtErrors.Run(OrtEnvironment.Env.GetAvailableProviders, "Listing execution providers");
    }
}
