using System.Globalization;
using InProcServe.Native;

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

    internal override unsafe void Append(OrtSessionOptionsHandle sessionOptions)
    {
        nint created;
        OrtStatus.Check(OrtApi.CreateTensorRTProviderOptions(&created));
        using (var options = new OrtTensorRTProviderOptionsHandle(created))
        {
            List<(string, string)> entries = [("device_id", deviceId.ToString(CultureInfo.InvariantCulture)), ("trt_fp16_enable", fp16 ? "1" : "0")];
            if (engineCachePath is not null)
            {
                // TensorRT creates only the last folder of the path.
                var cache = Directory.CreateDirectory(engineCachePath).FullName;
                entries.AddRange([("trt_engine_cache_enable", "1"), ("trt_engine_cache_path", cache)]);
            }

            SetOptions(OrtApi.UpdateTensorRTProviderOptions, options, [.. entries]);
            OrtStatus.Check(OrtApi.SessionOptionsAppendExecutionProvider_TensorRT_V2(sessionOptions.DangerousGetHandle(), created));
        }

        fallback.Append(sessionOptions);
    }
}
