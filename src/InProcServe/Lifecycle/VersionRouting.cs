namespace InProcServe;

/// <summary>
/// Which loaded version answers a call: the primary, or the canary for its share of traffic; and which version gets
/// copies of calls, the shadow. Immutable: a reload, a canary or shadow change, a promotion or a rollback publishes a
/// new routing in one volatile write, so each call sees the old routing or the new one, never a mix.
/// </summary>
/// <param name="Primary">The version that answers every call the canary doesn't take.</param>
/// <param name="Canary">The version that takes <paramref name="Split"/>'s share; null without a canary.</param>
/// <param name="Split">The canary's share; null without a canary.</param>
/// <param name="Loaded">Every loaded version, highest first: the primary, the canary, the shadow, and the others the version policy keeps ready.</param>
/// <param name="Shadow">The copies of calls sent to a shadow version, neither the primary nor the canary; null without a shadow.</param>
internal sealed record VersionRouting(ServingVersion Primary, ServingVersion? Canary, TrafficSplit? Split, IReadOnlyList<ServingVersion> Loaded, ShadowTraffic? Shadow)
{
    /// <summary>A routing with only <paramref name="loaded"/>, the highest answering every call.</summary>
    internal static VersionRouting Of(IEnumerable<ServingVersion> loaded)
    {
        var versions = loaded.OrderByDescending(v => v.Version).ToArray();
        return new VersionRouting(versions[0], null, null, versions, null);
    }

    /// <summary>The version for a call with routing key <paramref name="key"/> (null: at random).</summary>
    internal ServingVersion Pick(string? key) => Canary is not null && Split!.ToCanary(key) ? Canary : Primary;

    /// <summary>The loaded version numbered <paramref name="version"/>, if any.</summary>
    internal ServingVersion? Find(long version) => Loaded.FirstOrDefault(v => v.Version == version);

    /// <summary>The versions loaded here that <paramref name="next"/> no longer holds: those to retire after the swap.</summary>
    internal IEnumerable<ServingVersion> Leaving(VersionRouting next) => Loaded.Where(v => !next.Loaded.Contains(v));
}
