using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// The TensorRT provider, configured through <c>OrtTensorRTProviderOptionsV2</c>, followed by CUDA on the same
/// GPU: ONNX Runtime assigns each node to the first provider that takes it, in the order they were added.
/// </summary>
internal sealed class TensorRTExecutionProvider(int deviceId, bool fp16, string? engineCachePath) : ExecutionProvider
{
    private const string ProviderName = "TensorrtExecutionProvider";

    private readonly CudaExecutionProvider fallback = new(deviceId, 0, ArenaExtendStrategy.NextPowerOfTwo, CudnnConvolutionAlgorithmSearch.Exhaustive);

    public override string Name => ProviderName;

    public override int? DeviceId => deviceId;

    // Configuration reads the settings to change some of them and keep the rest (ModelConfiguration.ExecutionProvider.cs).
    internal bool Fp16 => fp16;

    internal string? EngineCachePath => engineCachePath;

    internal override IReadOnlyList<string> RequiredProviders => [ProviderName, CudaExecutionProvider.ProviderName];

    public override string ToString() =>
        $"TensorRT (device {deviceId}, fp16 {(fp16 ? "on" : "off")}, engine cache {(engineCachePath is null ? "none" : $"'{engineCachePath}'")}), then CUDA";

    internal override void Validate(List<string> errors)
    {
        if (deviceId < 0) errors.Add($"{nameof(ModelSessionOptions.ExecutionProvider)}: the TensorRT device id is {deviceId}; it must be 0 (default) or more.");
        if (engineCachePath is { Length: 0 }) errors.Add($"{nameof(ModelSessionOptions.ExecutionProvider)}: the TensorRT engine cache path is empty; leave it null for no cache.");
    }

    internal override void Append(SessionOptions sessionOptions)
    {
        using (var options = new OrtTensorRTProviderOptions())
        {
            var entries = new Dictionary<string, string>
            {
                ["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture),
                ["trt_fp16_enable"] = fp16 ? "1" : "0",
            };
            if (engineCachePath is not null)
            {
                // TensorRT creates only the last folder of the path.
                entries["trt_engine_cache_enable"] = "1";
                entries["trt_engine_cache_path"] = Directory.CreateDirectory(engineCachePath).FullName;
            }

            options.UpdateOptions(entries);
            sessionOptions.AppendExecutionProvider_Tensorrt(options);
        }

        fallback.Append(sessionOptions);
    }
}
