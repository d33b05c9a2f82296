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

    /// <summary>Adds a line to <paramref name="errors"/> for every invalid value (<see cref="VersionShare.AddErrors"/>).</summary>
    internal void AddErrors(List<string> errors, string? source, VersionPolicy? policy, IReadOnlyList<long>? loads) =>
        VersionShare.AddErrors(errors, nameof(ModelOptions.Canary), Version, Percent, source, policy, loads);
}
