using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>
/// Choosing where a session runs. The ONNX Runtime these tests load is the official CPU package, so a GPU
/// provider must fail with a message that says what is missing and how to get it.
/// </summary>
public sealed class ExecutionProviderTests
{
    [Fact]
    public void A_session_runs_on_the_CPU_by_default_and_says_so()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));

        Assert.Same(ExecutionProvider.Cpu, session.ExecutionProvider);
        Assert.Equal("CPUExecutionProvider", session.ExecutionProvider.Name);
        Assert.Null(session.ExecutionProvider.DeviceId);
        Assert.Equal("CPU", session.ExecutionProvider.ToString());
    }

    [Fact]
    public void GPU_providers_describe_their_settings()
    {
        var cuda = ExecutionProvider.Cuda(1, 2L << 30, ArenaExtendStrategy.SameAsRequested, CudnnConvolutionAlgorithmSearch.Heuristic);
        var tensorRT = ExecutionProvider.TensorRT(2, fp16: true, engineCachePath: "/var/cache/trt");

        Assert.Equal(("CUDAExecutionProvider", 1), (cuda.Name, cuda.DeviceId));
        Assert.Equal("CUDA (device 1, GPU memory limit 2147483648 bytes, arena SameAsRequested, cuDNN convolution search Heuristic)", cuda.ToString());
        Assert.Equal(("TensorrtExecutionProvider", 2), (tensorRT.Name, tensorRT.DeviceId));
        Assert.Equal("TensorRT (device 2, fp16 on, engine cache '/var/cache/trt'), then CUDA", tensorRT.ToString());
        Assert.Equal("CUDA (device 0, GPU memory limit none, arena NextPowerOfTwo, cuDNN convolution search Exhaustive)", ExecutionProvider.Cuda().ToString());
    }

    [Fact]
    public void CUDA_on_a_build_without_it_names_the_provider_the_library_and_the_remedy()
    {
        var error = Assert.Throws<NotSupportedException>(() =>
            ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { ExecutionProvider = ExecutionProvider.Cuda() }));

        // The official CPU package does not list CUDA at all: InProcServe refuses before ONNX Runtime is asked.
        Assert.Null(error.InnerException);
        Assert.Equal(
            $"Model 'fraud': the execution provider {ExecutionProvider.Cuda()} is not available: this build of ONNX Runtime does not include CUDAExecutionProvider. " +
            $"The ONNX Runtime {OnnxRuntime.Version} loaded from '{OnnxRuntime.LibraryPath}' lists {string.Join(", ", OnnxRuntime.GetAvailableProviders())}. " +
            $"To run on the GPU, reference the GPU package of the same version, <PackageReference Include=\"Microsoft.ML.OnnxRuntime.Gpu.Linux\" Version=\"{OnnxRuntime.Version}\" />, " +
            "with the CUDA and cuDNN libraries it needs on the machine (InProcServe then uses its native library in place of the CPU one); or use ExecutionProvider.Cpu.",
            error.Message);
    }

    [Fact]
    public void TensorRT_on_a_build_without_it_fails_the_same_way()
    {
        var error = Assert.Throws<NotSupportedException>(() =>
            ModelSession.Load(File.ReadAllBytes(TestModels.Path("fraud")), new ModelSessionOptions { Name = "scorer", ExecutionProvider = ExecutionProvider.TensorRT() }));

        Assert.StartsWith("Model 'scorer': the execution provider TensorRT (device 0, fp16 off, engine cache none), then CUDA is not available: ", error.Message);
        Assert.Contains("does not include TensorrtExecutionProvider or CUDAExecutionProvider", error.Message);
        Assert.Contains(OnnxRuntime.LibraryPath, error.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", error.Message);
    }

    [Fact]
    public void Invalid_provider_settings_are_named_with_the_other_invalid_options()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions
        {
            IntraOpThreads = -1,
            EnableCpuMemoryArena = true,
            UseSharedCpuArena = true,
            ExecutionProvider = ExecutionProvider.Cuda(-1, -5, (ArenaExtendStrategy)7, (CudnnConvolutionAlgorithmSearch)9),
        }));
        var tensorRT = Assert.Throws<ArgumentException>(() => ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { ExecutionProvider = ExecutionProvider.TensorRT(-2, engineCachePath: "") }));
        var none = Assert.Throws<ArgumentException>(() => ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { ExecutionProvider = null! }));

        Assert.Equal(
            $"Model 'fraud': invalid session options:{Environment.NewLine}" +
            $"  - IntraOpThreads is -1; it must be 0 (default) or more.{Environment.NewLine}" +
            $"  - EnableCpuMemoryArena and UseSharedCpuArena are both true; a session allocates from its own arena or from the shared one: set one.{Environment.NewLine}" +
            $"  - ExecutionProvider: the CUDA device id is -1; it must be 0 (default) or more.{Environment.NewLine}" +
            $"  - ExecutionProvider: the CUDA GPU memory limit is -5; it must be 0 (default, no limit) or a number of bytes.{Environment.NewLine}" +
            $"  - ExecutionProvider: the CUDA arena extend strategy is 7; it must be one of NextPowerOfTwo, SameAsRequested.{Environment.NewLine}" +
            "  - ExecutionProvider: the cuDNN convolution algorithm search is 9; it must be one of Exhaustive, Heuristic, Default. (Parameter 'options')",
            error.Message);
        Assert.Contains("the TensorRT device id is -2", tensorRT.Message);
        Assert.Contains("the TensorRT engine cache path is empty", tensorRT.Message);
        Assert.Contains("ExecutionProvider is null; use ExecutionProvider.Cpu (default)", none.Message);
    }
}
