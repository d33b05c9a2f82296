using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// Where a session's graph runs: one of ONNX Runtime's execution providers. <see cref="Cpu"/> (the default)
/// is in every build; <see cref="Cuda"/> and <see cref="TensorRT"/> need a GPU build of ONNX Runtime.
/// Nodes a GPU provider can't run go to the next provider, and finally to the CPU. Instances are immutable
/// and can be shared by any number of sessions.
/// </summary>
public abstract class ExecutionProvider
{
    private protected ExecutionProvider()
    {
    }

    /// <summary>ONNX Runtime's CPU kernels, in every build. The default of <see cref="ModelSessionOptions.ExecutionProvider"/>.</summary>
    public static ExecutionProvider Cpu { get; } = new CpuExecutionProvider();

    /// <summary>The provider that runs first, as ONNX Runtime names it: "CPUExecutionProvider", "CUDAExecutionProvider" or "TensorrtExecutionProvider".</summary>
    public abstract string Name { get; }

    /// <summary>The GPU the provider runs on, or null for the CPU.</summary>
    public abstract int? DeviceId { get; }

    /// <summary>The ONNX Runtime providers this needs, in the order they are added to a session; empty for the CPU.</summary>
    internal abstract IReadOnlyList<string> RequiredProviders { get; }

    /// <summary>NVIDIA GPUs through CUDA and cuDNN; nodes CUDA can't run fall back to the CPU.</summary>
    /// <param name="deviceId">The GPU, as CUDA numbers them. Default: 0.</param>
    /// <param name="gpuMemoryLimit">The most bytes the provider's GPU memory arena may hold. Default: 0, no limit.</param>
    /// <param name="arenaExtendStrategy">How the GPU memory arena grows. Default: <see cref="ArenaExtendStrategy.NextPowerOfTwo"/>, ONNX Runtime's default.</param>
    /// <param name="convolutionAlgorithmSearch">How cuDNN convolution algorithms are chosen. Default: <see cref="CudnnConvolutionAlgorithmSearch.Exhaustive"/>, ONNX Runtime's default.</param>
    /// <returns>The provider; invalid values are reported when a session is loaded with it.</returns>
    public static ExecutionProvider Cuda(
        int deviceId = 0,
        long gpuMemoryLimit = 0,
        ArenaExtendStrategy arenaExtendStrategy = ArenaExtendStrategy.NextPowerOfTwo,
        CudnnConvolutionAlgorithmSearch convolutionAlgorithmSearch = CudnnConvolutionAlgorithmSearch.Exhaustive) =>
        new CudaExecutionProvider(deviceId, gpuMemoryLimit, arenaExtendStrategy, convolutionAlgorithmSearch);

    /// <summary>
    /// NVIDIA TensorRT, with CUDA (default settings, same GPU) for the nodes TensorRT can't take and the CPU
    /// after that. TensorRT compiles an engine for the model when the session is created, which can take minutes.
    /// </summary>
    /// <param name="deviceId">The GPU, as CUDA numbers them. Default: 0.</param>
    /// <param name="fp16">Whether TensorRT may compute in 16-bit floats where the GPU supports it. Default: false.</param>
    /// <param name="engineCachePath">
    /// A folder where compiled engines are kept and reused by later sessions and processes, skipping the
    /// compilation. Default: null, no cache. Engines are specific to the GPU and TensorRT version that built them.
    /// </param>
    /// <returns>The provider; invalid values are reported when a session is loaded with it.</returns>
    public static ExecutionProvider TensorRT(int deviceId = 0, bool fp16 = false, string? engineCachePath = null) =>
        new TensorRTExecutionProvider(deviceId, fp16, engineCachePath);

    /// <summary>Describes the provider and its settings, as messages show it: "CUDA (device 0, …)".</summary>
    public abstract override string ToString();

    /// <summary>Adds a description of each invalid setting to <paramref name="errors"/>.</summary>
    internal abstract void Validate(List<string> errors);

    /// <summary>
    /// Adds the provider (and its fallbacks) to native session options, or throws when the loaded ONNX Runtime
    /// can't run it. ONNX Runtime's own errors for that name neither the library nor the remedy.
    /// </summary>
    /// <exception cref="NotSupportedException">
    /// The library lacks a provider this needs, or failed to add it (a CPU-only build whose list still names
    /// GPU providers, missing CUDA libraries, no such device); the message says which, what the library has,
    /// and what to do. ONNX Runtime's error, if any, is the inner exception.
    /// </exception>
    internal void AddTo(SessionOptions sessionOptions, string modelName)
    {
        if (RequiredProviders.Count == 0)
        {
            return;
        }

        var available = OnnxRuntime.GetAvailableProviders();
        var missing = RequiredProviders.Where(name => !available.Contains(name)).ToArray();
        if (missing.Length > 0)
        {
            throw Unavailable(modelName, $"this build of ONNX Runtime does not include {string.Join(" or ", missing)}", available, null);
        }

        try
        {
            Append(sessionOptions);
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e)
        {
            var error = OrtErrors.Translate(e, null);
            throw Unavailable(modelName, $"ONNX Runtime could not add it ({error.Message})", available, error);
        }
    }

    /// <summary>Appends the provider (and its fallbacks) to native session options; a failure is ONNX Runtime's status, unprefixed.</summary>
    internal abstract void Append(SessionOptions sessionOptions);

    private NotSupportedException Unavailable(string modelName, string reason, IReadOnlyList<string> available, Exception? inner) =>
        new($"Model '{modelName}': the execution provider {this} is not available: {reason}. The ONNX Runtime {OnnxRuntime.Version} " +
            $"loaded from '{OnnxRuntime.LibraryPath}' lists {string.Join(", ", available)}. " +
            (RequiredProviders.All(available.Contains)
                ? "It is a GPU build, so the machine lacks what its provider loads: the NVIDIA driver and the CUDA 13 and cuDNN 9 libraries " +
                  "on the library path (the error above names the missing file); or use ExecutionProvider.Cpu."
                : "To run on the GPU, reference the GPU package of the same version, " +
                  $"<PackageReference Include=\"Microsoft.ML.OnnxRuntime.Gpu.Linux\" Version=\"{OnnxRuntime.Version}\" />, with the CUDA and cuDNN " +
                  "libraries it needs on the machine (InProcServe then uses its native library in place of the CPU one); or use ExecutionProvider.Cpu."),
            inner);
}
