namespace InProcServe;

/// <summary>
/// Which versions of a model folder to serve, as in Triton and TF Serving: the folder holds one sub-folder per
/// version, named by its number (<c>fraud/1/model.onnx</c>, <c>fraud/2/model.onnx</c>).
/// </summary>
public sealed class VersionPolicy
{
    private readonly int latest;
    private readonly long[] specific;

    private VersionPolicy(int latest, long[] specific)
    {
        this.latest = latest;
        this.specific = specific;
    }

    /// <summary>The highest version only: the default.</summary>
    public static VersionPolicy Latest { get; } = new(1, []);

    /// <summary>The <paramref name="count"/> highest versions, for canaries and rollback.</summary>
    /// <param name="count">How many, 1 or more.</param>
    public static VersionPolicy LatestN(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new VersionPolicy(count, []);
    }

    /// <summary>Exactly these versions (those that exist).</summary>
    /// <param name="versions">The version numbers.</param>
    public static VersionPolicy Specific(params long[] versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        if (versions.Length == 0) throw new ArgumentException("Name at least one version.", nameof(versions));
        return new VersionPolicy(0, [.. versions.Distinct().Order()]);
    }

    /// <summary>The versions this policy picks out of <paramref name="available"/>, highest first.</summary>
    /// <param name="available">The versions found in the folder.</param>
    public IReadOnlyList<long> Select(IEnumerable<long> available)
    {
        var found = available.Distinct().OrderDescending();
        return latest > 0 ? [.. found.Take(latest)] : [.. found.Where(v => specific.Contains(v))];
    }

    /// <summary>"latest", "latest 3" or "versions 1, 4".</summary>
    public override string ToString() => latest switch
    {
        1 => "latest",
        > 1 => $"latest {latest}",
        _ => $"versions {string.Join(", ", specific)}",
    };
}
