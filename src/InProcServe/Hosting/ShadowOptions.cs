namespace InProcServe;

/// <summary>
/// The shadow a model starts with (<see cref="ModelOptions.Shadow"/>): once the versions load at start-up, version
/// <see cref="Version"/> of the model's version folder gets a copy of <see cref="Percent"/> of calls, as if
/// <see cref="HostedModel.SetShadowAsync"/> had been called then; <see cref="HostedModel.SetShadowAsync"/> and
/// <see cref="HostedModel.StopShadowAsync"/> change it afterwards. In configuration:
/// <c>InProcServe:Models:&lt;Name&gt;:Shadow:Version</c> and <c>:Shadow:Percent</c>.
/// </summary>
public sealed class ShadowOptions
{
    /// <summary>
    /// The shadow's version number: one that <see cref="ModelOptions.Versions"/> loads from
    /// <see cref="ModelOptions.Folder"/>, other than the highest, which is the primary, and other than the canary's.
    /// Default: null, no shadow.
    /// </summary>
    public long? Version { get; set; }

    /// <summary>The share of calls copied to the shadow, in percent, from 0 to 100. Default: null; set it with <see cref="Version"/>.</summary>
    public double? Percent { get; set; }

    /// <summary>Adds a line to <paramref name="errors"/> for every invalid value (<see cref="VersionShare.AddErrors"/>).</summary>
    internal void AddErrors(List<string> errors, string? source, VersionPolicy? policy, IReadOnlyList<long>? loads) =>
        VersionShare.AddErrors(errors, nameof(ModelOptions.Shadow), Version, Percent, source, policy, loads);
}
