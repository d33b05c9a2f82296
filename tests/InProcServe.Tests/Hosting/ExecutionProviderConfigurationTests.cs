using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace InProcServe.Tests.Hosting;

/// <summary>
/// <c>InProcServe:Models:&lt;Name&gt;:Session:ExecutionProvider</c>: a name, or a section with a name and settings, over
/// what code chose. The ONNX Runtime these tests load is the CPU-only build, so GPU providers are checked as options
/// and by the error that loading them gives.
/// </summary>
[Collection(HostingCollection.Name)]
public sealed class ExecutionProviderConfigurationTests
{
    private const string Section = "InProcServe:Models:PlainFraud:Session:ExecutionProvider";

    [Theory]
    [InlineData("Cpu")]
    [InlineData("cpu")]
    [InlineData("CPU")]
    public void A_name_alone_chooses_the_CPU_over_a_GPU_chosen_in_code(string name)
    {
        var options = Options((Section, name));

        Assert.Same(ExecutionProvider.Cpu, options.Session.ExecutionProvider);
        Assert.Equal("CPUExecutionProvider", options.Session.ExecutionProvider.Name);
        Assert.Null(options.Session.ExecutionProvider.DeviceId);
        Assert.Equal("CPU", options.Session.ExecutionProvider.ToString());
    }

    [Theory]
    [InlineData("Cuda", "CUDAExecutionProvider", "CUDA (device 0, GPU memory limit none, arena NextPowerOfTwo, cuDNN convolution search Exhaustive)")]
    [InlineData("tensorrt", "TensorrtExecutionProvider", "TensorRT (device 0, fp16 off, engine cache none), then CUDA")]
    public void A_name_alone_chooses_a_GPU_provider_with_its_defaults(string name, string providerName, string description)
    {
        var options = Options(useCuda: false, (Section, name));

        Assert.Equal((providerName, 0), (options.Session.ExecutionProvider.Name, options.Session.ExecutionProvider.DeviceId));
        Assert.Equal(description, options.Session.ExecutionProvider.ToString());
    }

    [Fact]
    public void CUDA_takes_every_one_of_its_settings()
    {
        var options = Options(
            useCuda: false,
            ($"{Section}:Name", "cuda"),
            ($"{Section}:DeviceId", "1"),
            ($"{Section}:GpuMemoryLimit", "2147483648"),
            ($"{Section}:ArenaExtendStrategy", "sameAsRequested"),
            ($"{Section}:ConvolutionAlgorithmSearch", "Heuristic"));

        Assert.Equal(("CUDAExecutionProvider", 1), (options.Session.ExecutionProvider.Name, options.Session.ExecutionProvider.DeviceId));
        Assert.Equal("CUDA (device 1, GPU memory limit 2147483648 bytes, arena SameAsRequested, cuDNN convolution search Heuristic)", options.Session.ExecutionProvider.ToString());
    }

    [Fact]
    public void TensorRT_takes_every_one_of_its_settings()
    {
        var options = Options(
            useCuda: false,
            ($"{Section}:Name", "TensorRT"),
            ($"{Section}:DeviceId", "2"),
            ($"{Section}:Fp16", "true"),
            ($"{Section}:EngineCachePath", "/var/cache/trt"));

        Assert.Equal(("TensorrtExecutionProvider", 2), (options.Session.ExecutionProvider.Name, options.Session.ExecutionProvider.DeviceId));
        Assert.Equal("TensorRT (device 2, fp16 on, engine cache '/var/cache/trt'), then CUDA", options.Session.ExecutionProvider.ToString());
    }

    [Fact]
    public void Settings_without_a_name_or_with_the_name_code_chose_change_only_themselves()
    {
        // Code chose CUDA with a memory limit and the heuristic search (see Options).
        var unnamed = Options(($"{Section}:DeviceId", "1"));
        var named = Options((Section, "CUDA"), ($"{Section}:ArenaExtendStrategy", "SameAsRequested"));

        Assert.Equal("CUDA (device 1, GPU memory limit 1073741824 bytes, arena NextPowerOfTwo, cuDNN convolution search Heuristic)", unnamed.Session.ExecutionProvider.ToString());
        Assert.Equal("CUDA (device 0, GPU memory limit 1073741824 bytes, arena SameAsRequested, cuDNN convolution search Heuristic)", named.Session.ExecutionProvider.ToString());
    }

    [Fact]
    public void Another_provider_s_name_starts_from_its_defaults()
    {
        var options = Options(($"{Section}:Name", "TensorRT"), ($"{Section}:Fp16", "true"));

        Assert.Equal("TensorRT (device 0, fp16 on, engine cache none), then CUDA", options.Session.ExecutionProvider.ToString());
    }

    [Theory]
    [InlineData("=Gpu", $"{Section} is 'Gpu'; it must be Cpu, Cuda or TensorRT.")]
    [InlineData("Name=;DeviceId=1", $"{Section}:Name is ''; it must be Cpu, Cuda or TensorRT.")]
    [InlineData("Name=CUDAExecutionProvider", $"{Section}:Name is 'CUDAExecutionProvider'; it must be Cpu, Cuda or TensorRT.")]
    [InlineData("=Cuda;Name=TensorRT", $"{Section} is 'Cuda' and {Section}:Name is 'TensorRT'; name the provider once.")]
    [InlineData(
        "Name=Cuda;Fp16=true",
        $"{Section}:Fp16 is 'true', but Fp16 is a setting of TensorRT and the execution provider is Cuda, " +
        $"whose settings are DeviceId, GpuMemoryLimit, ArenaExtendStrategy, ConvolutionAlgorithmSearch: remove it or set {Section}:Name to TensorRT.")]
    [InlineData(
        "Name=TensorRT;GpuMemoryLimit=1024",
        $"{Section}:GpuMemoryLimit is '1024', but GpuMemoryLimit is a setting of Cuda and the execution provider is TensorRT, " +
        $"whose settings are DeviceId, Fp16, EngineCachePath: remove it or set {Section}:Name to Cuda.")]
    [InlineData(
        "=cpu;DeviceId=1",
        $"{Section}:DeviceId is '1', but DeviceId is a setting of Cuda or TensorRT and the execution provider is Cpu, " +
        $"which has no settings: remove it or set {Section}:Name to Cuda or TensorRT.")]
    [InlineData(
        "EngineCachePath=/tmp/trt",
        $"{Section}:EngineCachePath is '/tmp/trt', but EngineCachePath is a setting of TensorRT and the execution provider set in code is Cpu, " +
        $"which has no settings: remove it or set {Section}:Name to TensorRT.")]
    [InlineData("Name=Cuda;DeviceId=first", $"{Section}:DeviceId is 'first'; it must be a whole number.")]
    [InlineData("Name=Cuda;GpuMemoryLimit=2GB", $"{Section}:GpuMemoryLimit is '2GB'; it must be a number of bytes (0 for no limit).")]
    [InlineData("Name=Cuda;ArenaExtendStrategy=Doubling", $"{Section}:ArenaExtendStrategy is 'Doubling'; it must be NextPowerOfTwo or SameAsRequested.")]
    [InlineData("Name=Cuda;ConvolutionAlgorithmSearch=fastest", $"{Section}:ConvolutionAlgorithmSearch is 'fastest'; it must be Exhaustive, Heuristic, Default.")]
    [InlineData("Name=TensorRT;Fp16=yes", $"{Section}:Fp16 is 'yes'; it must be true or false.")]
    [InlineData(
        "Name=Cuda;Device=1",
        $"{Section}:Device is not a setting; the settings here are Name, DeviceId, GpuMemoryLimit, ArenaExtendStrategy, ConvolutionAlgorithmSearch, Fp16, EngineCachePath.")]
    [InlineData("Name=Cuda;DeviceId=-1", "Session.ExecutionProvider: the CUDA device id is -1; it must be 0 (default) or more.")]
    [InlineData("Name=TensorRT;EngineCachePath=", "Session.ExecutionProvider: the TensorRT engine cache path is empty; leave it null for no cache.")]
    public async Task A_bad_setting_fails_start_naming_its_key_and_value(string settings, string line)
    {
        var builder = TestHost.Builder(settings.Split(';').Select(s => s.Split('=', 2)).Select(s => (s[0].Length == 0 ? Section : $"{Section}:{s[0]}", (string?)s[1])).ToArray());
        builder.Services.AddModel<PlainFraud>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal(
            $"Model 'PlainFraud': invalid options (code, or configuration section InProcServe:Models:PlainFraud):{Environment.NewLine}  - {line}",
            error.Message);
    }

    [Fact]
    public async Task Bad_provider_settings_join_the_other_bad_values_in_one_message()
    {
        var builder = TestHost.Builder(
            ("InProcServe:Models:PlainFraud:Session:IntraOpThreads", "-1"),
            ($"{Section}:Name", "Cuda"),
            ($"{Section}:Fp16", "true"),
            ($"{Section}:DeviceId", "x"),
            ($"{Section}:Devices", "1"),
            ("InProcServe:Models:PlainFraud:Batching:MaxDelay", "soon"));
        builder.Services.AddModel<PlainFraud>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal(
            $"""
            Model 'PlainFraud': invalid options (code, or configuration section InProcServe:Models:PlainFraud):
              - InProcServe:Models:PlainFraud:Batching:MaxDelay is 'soon'; it must be a time span such as 00:00:00.002.
              - {Section}:DeviceId is 'x'; it must be a whole number.
              - {Section}:Devices is not a setting; the settings here are Name, DeviceId, GpuMemoryLimit, ArenaExtendStrategy, ConvolutionAlgorithmSearch, Fp16, EngineCachePath.
              - {Section}:Fp16 is 'true', but Fp16 is a setting of TensorRT and the execution provider is Cuda, whose settings are DeviceId, GpuMemoryLimit, ArenaExtendStrategy, ConvolutionAlgorithmSearch: remove it or set {Section}:Name to TensorRT.
              - Session.IntraOpThreads is -1; it must be 0 (default) or more.
            """.ReplaceLineEndings(),
            error.Message);
    }

    [Fact]
    public async Task A_model_configured_for_CUDA_fails_start_saying_the_provider_is_not_available()
    {
        var builder = TestHost.Builder((Section, "Cuda"));
        builder.Services.AddModel<PlainFraud>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.StartsWith(
            "Model 'PlainFraud' failed to load: Model 'PlainFraud': the execution provider " +
            "CUDA (device 0, GPU memory limit none, arena NextPowerOfTwo, cuDNN convolution search Exhaustive) is not available: ",
            error.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", error.Message);
        Assert.IsType<NotSupportedException>(error.InnerException);
    }

    [Fact]
    public async Task An_optional_model_configured_for_CUDA_reports_unhealthy_and_the_app_runs_on()
    {
        var builder = TestHost.Builder(
            ("InProcServe:Models:PlainFraud:Optional", "true"),
            ($"{Section}:Name", "Cuda"),
            ($"{Section}:DeviceId", "1"));
        builder.Services.AddHealthChecks();
        builder.Services.AddModel<PlainFraud>().AddHealthCheck();
        using var host = builder.Build();
        await host.StartAsync();

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["inprocserve:PlainFraud"].Status);
        Assert.Contains("the execution provider CUDA (device 1, GPU memory limit none, arena NextPowerOfTwo, cuDNN convolution search Exhaustive) is not available", report.Entries["inprocserve:PlainFraud"].Description);
        await host.StopAsync();
    }

    /// <summary>PlainFraud's options under <paramref name="configuration"/>, over CUDA chosen in code.</summary>
    private static ModelOptions Options(params (string Key, string? Value)[] configuration) => Options(useCuda: true, configuration);

    /// <summary>
    /// PlainFraud's options under <paramref name="configuration"/>, over CUDA with a 1 GiB limit and the heuristic
    /// search chosen in code when <paramref name="useCuda"/>, over the default (the CPU) otherwise.
    /// </summary>
    private static ModelOptions Options(bool useCuda, params (string Key, string? Value)[] configuration)
    {
        var builder = TestHost.Builder(configuration);
        var model = builder.Services.AddModel<PlainFraud>();
        if (useCuda) model.UseExecutionProvider(ExecutionProvider.Cuda(gpuMemoryLimit: 1L << 30, convolutionAlgorithmSearch: CudnnConvolutionAlgorithmSearch.Heuristic));
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptionsMonitor<ModelOptions>>().Get("PlainFraud");
    }
}
