namespace InProcServe;

/// <summary>How a model's response cache (<c>.AddResponseCache()</c>) keeps responses.</summary>
public sealed class ResponseCacheOptions
{
    /// <summary>The most responses kept; the least recently used goes first. Default: 1024.</summary>
    public int Capacity { get; set; } = 1024;

    /// <summary>How long a response stays valid after it was computed. Default: null, until evicted.</summary>
    public TimeSpan? TimeToLive { get; set; }
}
