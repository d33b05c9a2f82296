using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace InProcServe;

/// <summary>
/// Applies configuration (<c>InProcServe:Models:&lt;Name&gt;</c>, <c>InProcServe:Lanes:&lt;Name&gt;</c>) over what code set.
/// Read by hand rather than with the configuration binder: the binder needs reflection (or its source generator,
/// which can't bind <see cref="ExecutionProvider"/>) and stops at the first bad value, while this records every
/// unreadable or unknown setting for validation to report at once.
/// </summary>
internal sealed partial class ModelConfiguration(IConfiguration? configuration) : IPostConfigureOptions<ModelOptions>, IPostConfigureOptions<LaneOptions>
{
    internal const string Root = "InProcServe";

    /// <summary>The settings of a model's section, lower-cased: any other key is a mistake the start names.</summary>
    private static readonly HashSet<string> ModelSettings = ["path", "folder", "versions", "canary", "shadow", "watchforchanges", "watchquietperiod", "optional", "lane", "warmupbatchsizes", "session", "batching", "monitoring"];

    /// <summary>
    /// Whether a section that no <c>AddModel</c> call claims is a model served from configuration alone: it names a
    /// source (<c>Path</c>, <c>Folder</c>), or holds a key that is no setting (a typo such as <c>Pth</c>, which the
    /// model's validation then names). A section of known settings only, with no source, configures a model this app
    /// doesn't add, and is left alone.
    /// </summary>
    internal static bool IsUntypedModel(IConfigurationSection section) =>
        section["Path"] is not null || section["Folder"] is not null || section.GetChildren().Any(c => !ModelSettings.Contains(c.Key.ToLowerInvariant()));

    public void PostConfigure(string? name, ModelOptions options)
    {
        if (configuration is null || string.IsNullOrEmpty(name)) return;
        var section = configuration.GetSection($"{Root}:Models:{name}");
        FromRepository(name, options, section);
        if (!section.Exists()) return;

        // A section names a model: one AddModel added, or one served from configuration alone, validated all the same.
        if (options.Name.Length == 0) options.Name = name;
        var errors = options.ConfigurationErrors;
        if (section["Path"] is not null || section["Folder"] is not null || section.GetSection("Remote").Exists())
        {
            // A source in configuration replaces the one code set (a definition's default file, FromBytes, UseRemote).
            options.Path = null;
            options.Folder = null;
            options.ModelBytes = null;
            if (!section.GetSection("Remote").Exists()) options.Remote = null;
        }

        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "path": options.Path = setting.Value; break;
                case "folder": options.Folder = setting.Value; break;
                case "versions": Read<VersionPolicy>(setting, TryPolicy, "\"latest\", \"latest N\" (N from 1) or version numbers such as \"1,3\"", errors, v => options.Versions = v); break;
                case "canary": ReadShare(setting, errors, v => options.Canary.Version = v, p => options.Canary.Percent = p); break;
                case "shadow": ReadShare(setting, errors, v => options.Shadow.Version = v, p => options.Shadow.Percent = p); break;
                case "watchforchanges": Read<bool>(setting, bool.TryParse, "true or false", errors, v => options.WatchForChanges = v); break;
                case "watchquietperiod": Read<TimeSpan>(setting, TryTime, "a time span such as 00:00:02", errors, v => options.WatchQuietPeriod = v); break;
                case "optional": Read<bool>(setting, bool.TryParse, "true or false", errors, v => options.Optional = v); break;
                case "lane": options.Lane = setting.Value ?? ""; break;
                case "warmupbatchsizes": ReadSizes(setting, options, errors); break;
                case "session": ReadSession(setting, options.Session, errors); break;
                case "batching": ReadBatching(setting, options.Batching, errors); break;
                case "monitoring": ReadMonitoring(setting, options.Monitoring, errors); break;
                case "remote": ReadRemote(setting, options.Remote ??= new RemoteOptions(), errors); break;
                default: errors.Add(Unknown(setting, "Path, Folder, Versions, Canary, Shadow, WatchForChanges, WatchQuietPeriod, Optional, Lane, WarmUpBatchSizes, Session, Batching, Monitoring, Remote")); break;
            }
        }
    }

    /// <summary>
    /// A model with no source of its own whose name is a folder of the model repository is served from that folder,
    /// every version in it, watched when the repository is, optional unless it is strict; its configuration section may
    /// still say otherwise.
    /// </summary>
    private void FromRepository(string name, ModelOptions options, IConfigurationSection section)
    {
        if (options.Path is not null || options.Folder is not null || options.ModelBytes is not null || section["Path"] is not null || section["Folder"] is not null) return;
        if (configuration![ModelRepository.PathKey] is not { Length: > 0 } repository || ModelRepository.ModelFolder(repository, name) is not { } folder) return;
        options.Folder = folder;
        options.Versions = VersionPolicy.LatestN(int.MaxValue);
        options.WatchForChanges = bool.TryParse(configuration[ModelRepository.WatchKey], out var watch) && watch;

        // One model of the repository that fails is reported not ready while the others serve, unless the repository is strict.
        options.Optional = !(bool.TryParse(configuration[ModelRepository.StrictKey], out var strict) && strict);
    }

    public void PostConfigure(string? name, LaneOptions options)
    {
        if (configuration is null || string.IsNullOrEmpty(name)) return;
        var workers = configuration.GetSection($"{Root}:Lanes:{name}:Workers");
        if (workers.Value is { } text)
        {
            options.Workers = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new InvalidOperationException($"{workers.Path} is '{text}'; it must be a whole number (0 for one worker per two processors).");
        }

        var spin = configuration.GetSection($"{Root}:Lanes:{name}:IdleSpin");
        if (spin.Value is { } spinText)
        {
            options.IdleSpin = TryTime(spinText, out var value)
                ? value
                : throw new InvalidOperationException($"{spin.Path} is '{spinText}'; it must be a time span such as 00:00:00.00005 (0 turns spinning off).");
        }
    }

    private static void ReadSession(IConfigurationSection section, ModelSessionOptions session, List<string> errors)
    {
        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "intraopthreads": Read<int>(setting, TryInt, "a whole number", errors, v => session.IntraOpThreads = v); break;
                case "interopthreads": Read<int>(setting, TryInt, "a whole number", errors, v => session.InterOpThreads = v); break;
                case "graphoptimization": Read<GraphOptimizationLevel>(setting, TryEnum, string.Join(", ", Enum.GetNames<GraphOptimizationLevel>()), errors, v => session.GraphOptimization = v); break;
                case "enablecpumemoryarena": Read<bool>(setting, bool.TryParse, "true or false", errors, v => session.EnableCpuMemoryArena = v); break;
                case "usesharedcpuarena": Read<bool>(setting, bool.TryParse, "true or false", errors, v => session.UseSharedCpuArena = v); break;
                case "shareweights": Read<bool>(setting, bool.TryParse, "true or false", errors, v => session.ShareWeights = v); break;
                case "optimizedmodelpath": session.OptimizedModelPath = setting.Value; break;
                case "executionprovider": ReadExecutionProvider(setting, session, errors); break;
                default: errors.Add(Unknown(setting, "IntraOpThreads, InterOpThreads, GraphOptimization, EnableCpuMemoryArena, UseSharedCpuArena, ShareWeights, OptimizedModelPath, ExecutionProvider")); break;
            }
        }
    }

    /// <summary>Reads a <c>Canary</c> or <c>Shadow</c> section: a version and its share of calls.</summary>
    private static void ReadShare(IConfigurationSection section, List<string> errors, Action<long> version, Action<double> percent)
    {
        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "version": Read<long>(setting, TryLong, "a version number such as 2", errors, version); break;
                case "percent": Read<double>(setting, TryDouble, "a number from 0 to 100", errors, percent); break;
                default: errors.Add(Unknown(setting, "Version, Percent")); break;
            }
        }
    }

    private static void ReadBatching(IConfigurationSection section, BatchingOptions batching, List<string> errors)
    {
        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "maxbatchsize": Read<int>(setting, TryInt, "a whole number", errors, v => batching.MaxBatchSize = v); break;
                case "maxdelay": Read<TimeSpan>(setting, TryTime, "a time span such as 00:00:00.002", errors, v => batching.MaxDelay = v); break;
                case "queuecapacity": Read<int>(setting, TryInt, "a whole number", errors, v => batching.QueueCapacity = v); break;
                case "fullmode": Read<QueueFullMode>(setting, TryEnum, string.Join(" or ", Enum.GetNames<QueueFullMode>()), errors, v => batching.FullMode = v); break;
                case "defaulttimeout": Read<TimeSpan>(setting, TryTime, "a time span such as 00:00:01", errors, v => batching.DefaultTimeout = v); break;
                case "priority": Read<int>(setting, TryInt, "a whole number", errors, v => batching.Priority = v); break;
                default: errors.Add(Unknown(setting, "MaxBatchSize, MaxDelay, QueueCapacity, FullMode, DefaultTimeout, Priority")); break;
            }
        }
    }

    private static void ReadMonitoring(IConfigurationSection section, MonitoringOptions monitoring, List<string> errors)
    {
        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "enabled": Read<bool>(setting, bool.TryParse, "true or false", errors, v => monitoring.Enabled = v); break;
                case "samplerate": Read<double>(setting, TryDouble, "a number above 0 and at most 1, such as 0.1", errors, v => monitoring.SampleRate = v); break;
                case "windowsize": Read<int>(setting, TryInt, "a whole number", errors, v => monitoring.WindowSize = v); break;
                case "baseline": monitoring.Baseline = setting.Value; break;
                default: errors.Add(Unknown(setting, "Enabled, SampleRate, WindowSize, Baseline")); break;
            }
        }
    }

    /// <summary>
    /// Reads a remote model's settings over what code set: <c>Url</c> or the list <c>Urls</c> replace the code's URLs (both
    /// together add up), <c>Headers:&lt;name&gt;</c> add to or replace the code's headers.
    /// </summary>
    private static void ReadRemote(IConfigurationSection section, RemoteOptions remote, List<string> errors)
    {
        var urls = new List<Uri>();
        var urlsSet = false;
        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "url":
                    urlsSet = true;
                    ReadUrl(setting, urls, errors);
                    break;
                case "urls":
                    urlsSet = true;
                    if (setting.Value is { } list)
                    {
                        // One comma-separated value, handy in environment variables.
                        foreach (var text in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) AddUrl(setting.Path, text, urls, errors);
                    }
                    else
                    {
                        foreach (var item in setting.GetChildren()) ReadUrl(item, urls, errors);
                    }

                    break;
                case "protocol": Read<RemoteProtocol>(setting, TryEnum, $"one of {string.Join(", ", Enum.GetNames<RemoteProtocol>())}", errors, v => remote.Protocol = v); break;
                case "modelname": remote.ModelName = setting.Value; break;
                case "binarytensors": Read<bool>(setting, bool.TryParse, "true or false", errors, v => remote.BinaryTensors = v); break;
                case "version": remote.Version = setting.Value; break;
                case "timeout": Read<TimeSpan>(setting, TryTime, "a time span such as 00:00:30", errors, v => remote.Timeout = v); break;
                case "maxconcurrentbatches": Read<int>(setting, TryInt, "a whole number", errors, v => remote.MaxConcurrentBatches = v); break;
                case "headers":
                    foreach (var header in setting.GetChildren())
                    {
                        if (header.Value is null) errors.Add($"{header.Path} has no value; a header is one line of text.");
                        else remote.Headers[header.Key] = header.Value;
                    }

                    break;
                default: errors.Add(Unknown(setting, "Url, Urls, Protocol, BinaryTensors, ModelName, Version, Timeout, MaxConcurrentBatches, Headers")); break;
            }
        }

        if (urlsSet) remote.Urls = urls;
    }

    private static void ReadUrl(IConfigurationSection setting, List<Uri> urls, List<string> errors) => AddUrl(setting.Path, setting.Value, urls, errors);

    private static void AddUrl(string path, string? text, List<Uri> urls, List<string> errors)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var url)) urls.Add(url);
        else errors.Add($"{path} is '{text}'; it must be an absolute address such as http://server:8000/.");
    }

    /// <summary>Reads an array (<c>WarmUpBatchSizes:0</c>, <c>:1</c>, …) or one comma-separated value (<c>"1,8,64"</c>, handy in environment variables).</summary>
    private static void ReadSizes(IConfigurationSection setting, ModelOptions options, List<string> errors)
    {
        var texts = setting.Value is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : setting.GetChildren().Select(c => c.Value ?? "").ToArray();
        var sizes = new List<int>();
        foreach (var text in texts)
        {
            if (TryInt(text, out var size)) sizes.Add(size);
            else errors.Add($"{setting.Path} holds '{text}'; it must hold whole numbers.");
        }

        options.WarmUpBatchSizes = sizes;
    }

    private delegate bool TryParse<T>(string text, out T value);

    private static void Read<T>(IConfigurationSection setting, TryParse<T> parse, string expected, List<string> errors, Action<T> apply)
    {
        if (setting.Value is { } text && parse(text, out var value)) apply(value);
        else errors.Add($"{setting.Path} is '{setting.Value}'; it must be {expected}.");
    }

    private static bool TryInt(string text, out int value) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static bool TryLong(string text, out long value) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static bool TryDouble(string text, out double value) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static bool TryEnum<T>(string text, out T value)
        where T : struct, Enum => Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value);

    /// <summary>Reads "latest", "latest 2" or "1,3" (what <see cref="VersionPolicy.ToString"/> writes, less the word "versions").</summary>
    private static bool TryPolicy(string text, out VersionPolicy value)
    {
        value = VersionPolicy.Latest;
        var words = text.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length > 0 && words[0].Equals("latest", StringComparison.OrdinalIgnoreCase))
        {
            if (words.Length == 1) return true;
            if (!TryInt(words[1], out var count) || count < 1) return false;
            value = VersionPolicy.LatestN(count);
            return true;
        }

        var numbers = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var versions = new long[numbers.Length];
        for (var i = 0; i < numbers.Length; i++)
        {
            if (!long.TryParse(numbers[i], NumberStyles.None, CultureInfo.InvariantCulture, out versions[i]) || versions[i] < 1) return false;
        }

        if (versions.Length == 0) return false;
        value = VersionPolicy.Specific(versions);
        return true;
    }

    private static bool TryTime(string text, out TimeSpan value) => TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);

    private static string Unknown(IConfigurationSection setting, string known) => $"{setting.Path} is not a setting; the settings here are {known}.";
}
