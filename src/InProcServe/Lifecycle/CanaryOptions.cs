using static System.FormattableString;

namespace InProcServe;

/// <summary>
/// The canary a model starts with (<see cref="ModelOptions.Canary"/>): once the versions load at start-up, version
/// <see cref="Version"/> of the model's version folder takes <see cref="Percent"/> of calls, as if
/// <see cref="HostedModel.SetCanaryAsync"/> had been called then; <see cref="HostedModel.PromoteCanaryAsync"/>,
/// <see cref="HostedModel.RollBackCanaryAsync"/> and <see cref="HostedModel.SetCanaryAsync"/> change it afterwards.
/// In configuration: <c>InProcServe:Models:&lt;Name&gt;:Canary:Version</c> and <c>:Canary:Percent</c>.
/// </summary>
public sealed class CanaryOptions
{
    /// <summary>
    /// The canary's version number: one that <see cref="ModelOptions.Versions"/> loads from
    /// <see cref="ModelOptions.Folder"/>, other than the highest, which is the primary. Default: null, no canary.
    /// </summary>
    public long? Version { get; set; }

    /// <summary>The canary's share of calls, in percent, from 0 to 100. Default: null; set it with <see cref="Version"/>.</summary>
    public double? Percent { get; set; }

    /// <summary>
    /// Adds a line to <paramref name="errors"/> for every invalid value. <paramref name="source"/> is the model's one
    /// source (null when it has none or several, reported elsewhere); <paramref name="loads"/> the versions its policy
    /// loads from its folder now, highest first, or null when that isn't known (no folder yet: loading reports it).
    /// </summary>
    internal void AddErrors(List<string> errors, string? source, VersionPolicy? policy, IReadOnlyList<long>? loads)
    {
        if (Version is null && Percent is null) return;
        if (Version is not { } version)
        {
            errors.Add(Invariant($"{nameof(Percent)} is {Percent}, but Canary.{nameof(Version)} is not set; set the version that takes the share."));
            return;
        }

        if (Percent is not { } percent) errors.Add(Invariant($"{nameof(Version)} is {version}, but Canary.{nameof(Percent)} is not set; set the canary's share of calls, from 0 to 100."));
        else if (percent is not (>= 0 and <= 100)) errors.Add(Invariant($"{nameof(Percent)} is {percent}; it must be from 0 to 100."));

        if (version < 1)
        {
            errors.Add(Invariant($"{nameof(Version)} is {version}; it must be a version number, 1 or more."));
        }
        else if (source is not null && source != nameof(ModelOptions.Folder))
        {
            errors.Add(Invariant($"{nameof(Version)} is {version}, but the model comes from {source}; a canary needs a version Folder whose policy (Versions) loads it besides the primary."));
        }
        else if (loads is { Count: > 0 } && loads[0] == version)
        {
            errors.Add(Invariant($"{nameof(Version)} is {version}, which is the primary: the highest of the versions the policy '{policy}' loads ({string.Join(", ", loads)}); a canary is another version the policy loads."));
        }
        else if (loads is { Count: > 0 } && !loads.Contains(version))
        {
            errors.Add(Invariant($"{nameof(Version)} is {version}, but the policy '{policy}' loads {string.Join(", ", loads)}: set one of those below the primary {loads[0]}, or a policy (Versions) that loads {version} as well."));
        }
    }
}
