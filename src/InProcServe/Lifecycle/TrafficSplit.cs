namespace InProcServe;

/// <summary>
/// Sends a share of traffic to a canary: each call goes to the canary with probability
/// <see cref="CanaryPercent"/>/100, or, when the call has a key (a user, a device), the same key always goes
/// the same way, so one user doesn't flip between versions from call to call.
/// </summary>
/// <param name="canaryPercent">The canary's share, from 0 to 100.</param>
public sealed class TrafficSplit(double canaryPercent)
{
    /// <summary>The canary's share of calls, in percent, from 0 to 100.</summary>
    public double CanaryPercent { get; } = canaryPercent is >= 0 and <= 100 ? canaryPercent : throw new ArgumentOutOfRangeException(nameof(canaryPercent), canaryPercent, "The canary's share is a percentage from 0 to 100.");

    /// <summary>Whether this call goes to the canary.</summary>
    /// <param name="key">A stable key for sticky routing, or null to decide at random.</param>
    public bool ToCanary(string? key = null)
    {
        if (CanaryPercent <= 0) return false;
        if (CanaryPercent >= 100) return true;
        var draw = key is null ? Random.Shared.NextDouble() : Bucket(key);
        return draw * 100 < CanaryPercent;
    }

    /// <summary>
    /// The key's place in [0, 1): FNV-1a over its UTF-8 bytes, mixed by SplitMix64's finalizer so that keys
    /// differing in one character land far apart. The same on every machine and in every process, unlike
    /// <see cref="string.GetHashCode()"/>.
    /// </summary>
    private static double Bucket(string key)
    {
        var hash = 14695981039346656037UL;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in key.EnumerateRunes())
        {
            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length]) hash = (hash ^ b) * 1099511628211UL;
        }

        hash = (hash ^ (hash >> 30)) * 0xBF58476D1CE4E5B9UL;
        hash = (hash ^ (hash >> 27)) * 0x94D049BB133111EBUL;
        hash ^= hash >> 31;
        return (hash >> 11) * (1.0 / (1UL << 53));
    }
}
