using Microsoft.Extensions.Logging;

namespace InProcServe;

/// <summary>
/// What <see cref="ModelVersions"/> needs from the model it serves: its settings as they are now, and how one version
/// is loaded and made ready to serve. The hosted model implements it (Hosting/), which keeps options, handlers and
/// contracts out of the version handling.
/// </summary>
internal interface IVersionHost
{
    /// <summary>The model's name, for messages, logs and metrics.</summary>
    string Name { get; }

    ILogger Logger { get; }

    InProcServeMetrics Metrics { get; }

    /// <summary>The model's tag on every measurement, boxed once.</summary>
    KeyValuePair<string, object?> ModelTag { get; }

    /// <summary>Reads the model's settings now: called at the start of every load and reload, so a reload sees changed options.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    VersionPlan Plan();

    /// <summary>Gets what a load needs ready, before its first version: the handlers (once), the lane. Throws why the model can't load.</summary>
    void Prepare();

    /// <summary>The versions to load now, highest first: the file, the bytes, or those the policy picks in the folder. Throws when there are none.</summary>
    IReadOnlyList<VersionSource> Sources();

    /// <summary>Loads, binds and warms one version; nothing is published. Releases what it loaded when it throws.</summary>
    ServingVersion Start(VersionSource source, CancellationToken cancellationToken);

    /// <summary>The model's version folder's copy of <paramref name="version"/>, to load for a canary or a shadow; null when there is none.</summary>
    VersionSource? FindInFolder(long version, out string whereLooked);

    /// <summary>The model serves: its first load, or a revival, succeeded.</summary>
    void Serving();
}

/// <summary>Where one version comes from: a file (with its folder's version number, if any) or, with no path, the model's bytes or remote address.</summary>
internal readonly record struct VersionSource(long? Version, string? Path);

/// <summary>A version to send a share of calls to (a canary) or copies of them (a shadow), from the model's options.</summary>
internal readonly record struct VersionShareSetting(long Version, double Percent);

/// <summary>What the files are watched for: the path to watch, the folder it lives in, and the quiet period before a reload.</summary>
internal sealed record WatchSetting(string Watched, string Folder, TimeSpan QuietPeriod);

/// <summary>A load's settings, read from the model's options when it starts.</summary>
/// <param name="Policy">The version policy, as written, for messages.</param>
/// <param name="Canary">The canary to start with, if any.</param>
/// <param name="Shadow">The shadow to start with, if any.</param>
/// <param name="Watch">The watch to start after the first load, if any.</param>
internal sealed record VersionPlan(string Policy, VersionShareSetting? Canary, VersionShareSetting? Shadow, WatchSetting? Watch);
