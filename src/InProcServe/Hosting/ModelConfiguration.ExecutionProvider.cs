using Microsoft.Extensions.Configuration;

namespace InProcServe;

internal sealed partial class ModelConfiguration
{
    /// <summary>The providers configuration can name, spelled as it spells them.</summary>
    private enum Provider
    {
        Cpu,
        Cuda,
        TensorRT,
    }

    private const string ProviderSettings = "Name, DeviceId, GpuMemoryLimit, ArenaExtendStrategy, ConvolutionAlgorithmSearch, Fp16, EngineCachePath";

    /// <summary>The settings each provider takes: the parameters of <see cref="ExecutionProvider.Cuda"/> and <see cref="ExecutionProvider.TensorRT"/>.</summary>
    private static readonly (Provider Provider, string[] Settings)[] SettingsByProvider =
    [
        (Provider.Cpu, []),
        (Provider.Cuda, ["DeviceId", "GpuMemoryLimit", "ArenaExtendStrategy", "ConvolutionAlgorithmSearch"]),
        (Provider.TensorRT, ["DeviceId", "Fp16", "EngineCachePath"]),
    ];

    /// <summary>
    /// Reads <c>Session:ExecutionProvider</c>: a provider's name (<c>"Cuda"</c>), or a section with <c>Name</c> and the
    /// provider's settings. Like the other sections it overrides code setting by setting: with no name, or the name of
    /// the provider code chose, the settings given replace that provider's and the others stay; another name starts
    /// from that provider's defaults. A setting of another provider is reported rather than ignored: whoever wrote it
    /// expects it to count.
    /// </summary>
    private static void ReadExecutionProvider(IConfigurationSection section, ModelSessionOptions session, List<string> errors)
    {
        var code = session.ExecutionProvider;
        Provider? inCode = code switch
        {
            null => null,
            CudaExecutionProvider => Provider.Cuda,
            TensorRTExecutionProvider => Provider.TensorRT,
            _ => Provider.Cpu,
        };

        // Both forms at once happen when layered sources mix them (an environment variable over a JSON file).
        var name = section.GetSection("Name");
        Provider? configured = null;
        var nameIsValid = true;
        if (section.Value is { } shortName && name.Value is { } longName && !shortName.Equals(longName, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{section.Path} is '{shortName}' and {name.Path} is '{longName}'; name the provider once.");
            nameIsValid = false;
        }
        else if ((name.Exists() ? name : section.Value is not null ? section : null) is { } named)
        {
            Read<Provider>(named, TryProvider, "Cpu, Cuda or TensorRT", errors, v => configured = v);
            nameIsValid = configured is not null;
        }

        // Null when the name is bad or code set no provider: settings are then only parsed, and what is wrong reported.
        var provider = nameIsValid ? configured ?? inCode : null;
        int? deviceId = null;
        long? gpuMemoryLimit = null;
        ArenaExtendStrategy? arenaExtendStrategy = null;
        CudnnConvolutionAlgorithmSearch? convolutionAlgorithmSearch = null;
        bool? fp16 = null;
        string? engineCachePath = null;
        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "name": break;
                case "deviceid":
                    if (Takes(provider, configured is null, "DeviceId", setting, section, errors)) Read<int>(setting, TryInt, "a whole number", errors, v => deviceId = v);
                    break;
                case "gpumemorylimit":
                    if (Takes(provider, configured is null, "GpuMemoryLimit", setting, section, errors)) Read<long>(setting, TryLong, "a number of bytes (0 for no limit)", errors, v => gpuMemoryLimit = v);
                    break;
                case "arenaextendstrategy":
                    if (Takes(provider, configured is null, "ArenaExtendStrategy", setting, section, errors)) Read<ArenaExtendStrategy>(setting, TryEnum, string.Join(" or ", Enum.GetNames<ArenaExtendStrategy>()), errors, v => arenaExtendStrategy = v);
                    break;
                case "convolutionalgorithmsearch":
                    if (Takes(provider, configured is null, "ConvolutionAlgorithmSearch", setting, section, errors)) Read<CudnnConvolutionAlgorithmSearch>(setting, TryEnum, string.Join(", ", Enum.GetNames<CudnnConvolutionAlgorithmSearch>()), errors, v => convolutionAlgorithmSearch = v);
                    break;
                case "fp16":
                    if (Takes(provider, configured is null, "Fp16", setting, section, errors)) Read<bool>(setting, bool.TryParse, "true or false", errors, v => fp16 = v);
                    break;
                case "enginecachepath":
                    if (Takes(provider, configured is null, "EngineCachePath", setting, section, errors)) engineCachePath = setting.Value;
                    break;
                default: errors.Add(Unknown(setting, ProviderSettings)); break;
            }
        }

        if (provider is null) return;
        var basis = provider == inCode ? code! : provider switch
        {
            Provider.Cuda => ExecutionProvider.Cuda(),
            Provider.TensorRT => ExecutionProvider.TensorRT(),
            _ => ExecutionProvider.Cpu,
        };
        session.ExecutionProvider = basis switch
        {
            CudaExecutionProvider cuda => ExecutionProvider.Cuda(
                deviceId ?? cuda.DeviceId.GetValueOrDefault(),
                gpuMemoryLimit ?? cuda.GpuMemoryLimit,
                arenaExtendStrategy ?? cuda.ArenaExtendStrategy,
                convolutionAlgorithmSearch ?? cuda.ConvolutionAlgorithmSearch),
            TensorRTExecutionProvider tensorRT => ExecutionProvider.TensorRT(
                deviceId ?? tensorRT.DeviceId.GetValueOrDefault(),
                fp16 ?? tensorRT.Fp16,
                engineCachePath ?? tensorRT.EngineCachePath),
            _ => basis,
        };
    }

    /// <summary>Whether <paramref name="provider"/> takes the setting <paramref name="name"/>; if not, adds an error naming the provider's settings.</summary>
    private static bool Takes(Provider? provider, bool providerFromCode, string name, IConfigurationSection setting, IConfigurationSection section, List<string> errors)
    {
        if (provider is not { } chosen) return true;
        var settings = SettingsByProvider.First(p => p.Provider == chosen).Settings;
        if (settings.Contains(name)) return true;
        var owners = string.Join(" or ", SettingsByProvider.Where(p => p.Settings.Contains(name)).Select(p => p.Provider));
        errors.Add(
            $"{setting.Path} is '{setting.Value}', but {name} is a setting of {owners} and the execution provider{(providerFromCode ? " set in code" : "")} is {chosen}, " +
            $"{(settings.Length == 0 ? "which has no settings" : $"whose settings are {string.Join(", ", settings)}")}: remove it or set {section.Path}:Name to {owners}.");
        return false;
    }

    /// <summary>Reads a provider's name, in any case; not a number, unlike <see cref="TryEnum{T}"/>, since a provider has no number.</summary>
    private static bool TryProvider(string text, out Provider value)
    {
        foreach (var provider in Enum.GetValues<Provider>())
        {
            value = provider;
            if (text.Equals(provider.ToString(), StringComparison.OrdinalIgnoreCase)) return true;
        }

        value = default;
        return false;
    }
}
