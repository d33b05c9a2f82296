using static System.FormattableString;

namespace InProcServe;

/// <summary>
/// The checks a start-up canary (<see cref="CanaryOptions"/>) and a start-up shadow (<see cref="ShadowOptions"/>)
/// share: each names a version the policy loads besides the primary, and a share of calls that it answers or gets a
/// copy of.
/// </summary>
internal static class VersionShare
{
    /// <summary>
    /// Adds a line to <paramref name="errors"/> for every invalid value, each starting with the setting's own name
    /// (<c>Version</c>, <c>Percent</c>): the caller prefixes the section. <paramref name="source"/> is the model's one
    /// source (null when it has none or several, reported elsewhere); <paramref name="loads"/> the versions its policy
    /// loads from its folder now, highest first, or null when that isn't known (no folder yet: loading reports it).
    /// </summary>
    /// <param name="errors">Receives the errors.</param>
    /// <param name="section">The section's name, "Canary" or "Shadow"; the messages name the role in lower case.</param>
    /// <param name="version">The version setting.</param>
    /// <param name="percent">The share setting.</param>
    /// <param name="source">The model's one source.</param>
    /// <param name="policy">The version policy.</param>
    /// <param name="loads">The versions the policy loads now.</param>
    internal static void AddErrors(List<string> errors, string section, long? version, double? percent, string? source, VersionPolicy? policy, IReadOnlyList<long>? loads)
    {
        if (version is null && percent is null) return;
        var role = section.ToLowerInvariant();
        if (version is not { } number)
        {
            errors.Add(Invariant($"Percent is {percent}, but {section}.Version is not set; set the version that takes the share."));
            return;
        }

        if (percent is not { } share) errors.Add(Invariant($"Version is {number}, but {section}.Percent is not set; set the {role}'s share of calls, from 0 to 100."));
        else if (share is not (>= 0 and <= 100)) errors.Add(Invariant($"Percent is {share}; it must be from 0 to 100."));

        if (number < 1)
        {
            errors.Add(Invariant($"Version is {number}; it must be a version number, 1 or more."));
        }
        else if (source is not null && source != nameof(ModelOptions.Folder))
        {
            errors.Add(Invariant($"Version is {number}, but the model comes from {source}; a {role} needs a version Folder whose policy (Versions) loads it besides the primary."));
        }
        else if (loads is { Count: > 0 } && loads[0] == number)
        {
            errors.Add(Invariant($"Version is {number}, which is the primary: the highest of the versions the policy '{policy}' loads ({string.Join(", ", loads)}); a {role} is another version the policy loads."));
        }
        else if (loads is { Count: > 0 } && !loads.Contains(number))
        {
            errors.Add(Invariant($"Version is {number}, but the policy '{policy}' loads {string.Join(", ", loads)}: set one of those below the primary {loads[0]}, or a policy (Versions) that loads {number} as well."));
        }
    }
}
