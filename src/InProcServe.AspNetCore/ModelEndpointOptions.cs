namespace InProcServe.AspNetCore;

/// <summary>Limits and answers of the typed model endpoints (<c>MapModel</c>). Configure with <c>services.Configure&lt;ModelEndpointOptions&gt;(…)</c>.</summary>
public sealed class ModelEndpointOptions
{
    /// <summary>The largest request body, in bytes; a larger one is answered 413. Default: 1 MiB.</summary>
    public int MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>
    /// The most requests in one JSON array; more is answered 413 naming this limit. Default: 64, well below a queue's
    /// default capacity (1,024), so a few clients posting arrays can't fill the queue other callers share.
    /// </summary>
    public int MaxRequestsPerCall { get; set; } = 64;

    /// <summary>The Retry-After given with 429 when a model's queue is full, and with 503. Default: 1 second.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);
}
