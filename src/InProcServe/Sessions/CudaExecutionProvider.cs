using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>The CUDA provider, configured through <c>OrtCUDAProviderOptionsV2</c>.</summary>
internal sealed class CudaExecutionProvider(
    int deviceId, long gpuMemoryLimit, ArenaExtendStrategy arenaExtendStrategy, CudnnConvolutionAlgorithmSearch convolutionAlgorithmSearch)
    : ExecutionProvider
{
    internal const string ProviderName = "CUDAExecutionProvider";

    public override string Name => ProviderName;

    public override int? DeviceId => deviceId;

    // Configuration reads the settings to change some of them and keep the rest (ModelConfiguration.ExecutionProvider.cs).
    internal long GpuMemoryLimit => gpuMemoryLimit;

    internal ArenaExtendStrategy ArenaExtendStrategy => arenaExtendStrategy;

    internal CudnnConvolutionAlgorithmSearch ConvolutionAlgorithmSearch => convolutionAlgorithmSearch;

    internal override IReadOnlyList<string> RequiredProviders => [ProviderName];

    public override string ToString() =>
        $"CUDA (device {deviceId}, GPU memory limit {(gpuMemoryLimit == 0 ? "none" : gpuMemoryLimit.ToString(CultureInfo.InvariantCulture) + " bytes")}, " +
        $"arena {arenaExtendStrategy}, cuDNN convolution search {convolutionAlgorithmSearch})";

    internal override void Validate(List<string> errors)
    {
        if (deviceId < 0) errors.Add($"{nameof(ModelSessionOptions.ExecutionProvider)}: the CUDA device id is {deviceId}; it must be 0 (default) or more.");
        if (gpuMemoryLimit < 0) errors.Add($"{nameof(ModelSessionOptions.ExecutionProvider)}: the CUDA GPU memory limit is {gpuMemoryLimit}; it must be 0 (default, no limit) or a number of bytes.");
        if (!Enum.IsDefined(arenaExtendStrategy)) errors.Add($"{nameof(ModelSessionOptions.ExecutionProvider)}: the CUDA arena extend strategy is {(int)arenaExtendStrategy}; it must be one of {string.Join(", ", Enum.GetNames<ArenaExtendStrategy>())}.");
        if (!Enum.IsDefined(convolutionAlgorithmSearch)) errors.Add($"{nameof(ModelSessionOptions.ExecutionProvider)}: the cuDNN convolution algorithm search is {(int)convolutionAlgorithmSearch}; it must be one of {string.Join(", ", Enum.GetNames<CudnnConvolutionAlgorithmSearch>())}.");
    }

    internal override void Append(SessionOptions sessionOptions)
    {
        using var options = new OrtCUDAProviderOptions();
        // Every value is sent, defaults included, so the session runs with what ToString reports.
        options.UpdateOptions(new Dictionary<string, string>
        {
            ["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture),
            // ONNX Runtime's "no limit" is SIZE_MAX, not 0.
            ["gpu_mem_limit"] = gpuMemoryLimit == 0 ? nuint.MaxValue.ToString(CultureInfo.InvariantCulture) : gpuMemoryLimit.ToString(CultureInfo.InvariantCulture),
            ["arena_extend_strategy"] = arenaExtendStrategy == ArenaExtendStrategy.NextPowerOfTwo ? "kNextPowerOfTwo" : "kSameAsRequested",
            ["cudnn_conv_algo_search"] = convolutionAlgorithmSearch switch
            {
                CudnnConvolutionAlgorithmSearch.Heuristic => "HEURISTIC",
                CudnnConvolutionAlgorithmSearch.Default => "DEFAULT",
                _ => "EXHAUSTIVE",
            },
        });
        sessionOptions.AppendExecutionProvider_CUDA(options);
    }
}
