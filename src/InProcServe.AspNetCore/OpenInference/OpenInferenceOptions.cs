namespace InProcServe.AspNetCore;

/// <summary>
/// Limits and exposure of the Open Inference Protocol's REST endpoints (<c>MapOpenInferenceProtocol</c>) and gRPC
/// service (<c>MapOpenInferenceGrpc</c>).
/// </summary>
public sealed class OpenInferenceOptions
{
    /// <summary>
    /// The largest infer request body, in bytes, JSON and binary tensor data together; a larger one is answered 413.
    /// On gRPC, the largest message the service takes (a larger one is RESOURCE_EXHAUSTED). Default: 16 MiB.
    /// </summary>
    public int MaxRequestBodyBytes { get; set; } = 16 << 20;

    /// <summary>
    /// The most tensor elements, over all inputs, in one infer request; more is answered 413, counted while the body
    /// arrives. Default: 1,048,576.
    /// </summary>
    public long MaxElementsPerRequest { get; set; } = 1 << 20;

    /// <summary>
    /// The size from which a REST infer body counts as large, in bytes (declared or received). Default: 1 MiB. gRPC
    /// messages are read whole before the service sees them, and are bounded by <see cref="MaxRequestBodyBytes"/> only.
    /// </summary>
    public int LargeRequestBytes { get; set; } = 1 << 20;

    /// <summary>
    /// The most large bodies (<see cref="LargeRequestBytes"/>) read at once; one more is answered 429 with Retry-After,
    /// so concurrent uploads can't hold more than this many times <see cref="MaxRequestBodyBytes"/>. Default: 4.
    /// </summary>
    public int MaxConcurrentLargeRequests { get; set; } = 4;

    /// <summary>The Retry-After given with 429 and 503 (on gRPC, <c>grpc-retry-pushback-ms</c> with UNAVAILABLE). Default: 1 second.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether models added with <c>AddModel</c> (typed, with their own endpoints and handlers) are served on the
    /// protocol too, raw tensors in and out, their handlers bypassed. Default: true. Models from configuration are
    /// always served.
    /// </summary>
    public bool ServeTypedModels { get; set; } = true;

    /// <summary>Models, by name, the protocol does not serve: they answer 404 as if absent. Default: empty.</summary>
    public ISet<string> HiddenModels { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Whether a 404 for an unknown model lists the models served. Default: false, so a probe learns nothing of the catalogue.</summary>
    public bool ListModelsInErrors { get; set; }

    /// <summary>
    /// Whether Triton's model repository extension is served: <c>POST v2/repository/index</c> lists the repository's
    /// models (<c>InProcServe:ModelRepository</c>) with their state, <c>…/models/{name}/load</c> loads one (or reloads
    /// it with the versions its folder holds now) and <c>…/models/{name}/unload</c> unloads it. Only the repository's
    /// models, named by their folder, never a path; the app's own models can't be unloaded. Anyone who reaches the
    /// endpoints can change what the server serves: put them behind authorization. Default: false.
    /// </summary>
    public bool RepositoryApi { get; set; }

    /// <summary>The server name in <c>GET /v2</c> and gRPC's ServerMetadata. Default: "inprocserve".</summary>
    public string ServerName { get; set; } = "inprocserve";
}
