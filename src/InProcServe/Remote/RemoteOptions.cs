namespace InProcServe;

/// <summary>How the model's remote run is sent over the Open Inference Protocol.</summary>
public enum RemoteProtocol
{
    /// <summary>REST (HTTP/1.1 or 2): <c>POST v2/models/{name}/infer</c> with JSON tensors.</summary>
    Rest,

    /// <summary>
    /// gRPC (HTTP/2, service <c>inference.GRPCInferenceService</c>): <c>ModelInfer</c> with raw binary tensors. A server without
    /// TLS must accept HTTP/2 without it (h2c), as Triton's gRPC port does.
    /// </summary>
    Grpc,
}

/// <summary>
/// A model that runs on a serving cluster (Triton, KServe, Seldon MLServer, another InProcServe app) and is called over the
/// Open Inference Protocol (KServe v2): the app keeps its contract, handlers, batching, metrics and health check, and each
/// batch goes as one infer request. Set on <see cref="ModelOptions.Remote"/> (<c>UseRemote</c> on the builder, or
/// <c>InProcServe:Models:&lt;Name&gt;:Remote</c> in configuration); such a model has no <see cref="ModelOptions.Path"/>,
/// <see cref="ModelOptions.Folder"/> or <see cref="ModelOptions.ModelBytes"/>.
/// </summary>
/// <remarks>
/// At start-up the contract is checked against the model's metadata (<c>GET v2/models/{name}</c>) as it is against a local
/// file's signature. With several <see cref="Urls"/>, each batch goes to the replica with the fewest calls in flight; a call
/// that fails on the way (no connection, a 5xx or 429 answer, a timeout) is tried once more on another replica, and a replica
/// that keeps failing is left alone for a while (a circuit breaker each). The calls go through the named
/// <see cref="System.Net.Http.HttpClient"/> <see cref="HttpClientName"/>, so an app can add handlers or certificates with
/// <c>AddRemoteHttpClient()</c> on the model's builder.
/// </remarks>
public sealed class RemoteOptions
{
    /// <summary>The default <see cref="Timeout"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The servers' root addresses (such as <c>http://triton:8000/</c>), one per replica of the same model; the protocol's paths
    /// (<c>v2/models/…</c>) are added to them. Default: empty. In configuration: <c>Remote:Url</c>, or <c>Remote:Urls:0</c>,
    /// <c>:1</c>, … for several.
    /// </summary>
    public IList<Uri> Urls { get; set; } = [];

    /// <summary>
    /// The protocol binding. Default: <see cref="RemoteProtocol.Rest"/>. In configuration: <c>Remote:Protocol</c> (<c>Rest</c> or
    /// <c>Grpc</c>). The URLs are the binding's port (Triton: 8000 for REST, 8001 for gRPC).
    /// </summary>
    public RemoteProtocol Protocol { get; set; } = RemoteProtocol.Rest;

    /// <summary>
    /// Whether REST calls send and ask for tensors in binary form (the binary tensor extension: raw bytes after the JSON),
    /// which costs a fraction of JSON's bytes and parsing. Default: false, JSON, which every server of the protocol reads.
    /// Turn it on for servers that list <c>binary_tensor_data</c> among their extensions (<c>GET v2</c>): Triton, InProcServe.
    /// gRPC always sends raw tensors. In configuration: <c>Remote:BinaryTensors</c>.
    /// </summary>
    public bool BinaryTensors { get; set; }

    /// <summary>The model's name on the server. Default: null, the hosted model's own name.</summary>
    public string? ModelName { get; set; }

    /// <summary>The model's version on the server (<c>v2/models/{name}/versions/{version}</c>). Default: null, the server's choice.</summary>
    public string? Version { get; set; }

    /// <summary>
    /// How long one try of a call may take, answer included, before it counts as failed (and is tried on another replica).
    /// Default: <see cref="DefaultTimeout"/>. It replaces the HttpClient's own timeout, which remote models set to infinite.
    /// </summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>
    /// Request headers sent with every call, such as <c>Authorization</c> or a cluster's API key. Default: none. In
    /// configuration: <c>Remote:Headers:&lt;name&gt;</c>.
    /// </summary>
    public IDictionary<string, string> Headers { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The most batches in flight to the servers at once; more requests wait in the queue and join larger batches. Default: 0,
    /// which means 4 per URL.
    /// </summary>
    public int MaxConcurrentBatches { get; set; }

    /// <summary>The name of the <see cref="System.Net.Http.HttpClient"/> (IHttpClientFactory) that calls model <paramref name="model"/>'s servers: "InProcServe.Remote.{model}".</summary>
    /// <param name="model">The hosted model's name.</param>
    public static string HttpClientName(string model) => $"InProcServe.Remote.{model}";

    /// <summary>The batches in flight that apply: <see cref="MaxConcurrentBatches"/>, or 4 per URL.</summary>
    internal int EffectiveConcurrentBatches => MaxConcurrentBatches > 0 ? MaxConcurrentBatches : 4 * Math.Max(1, Urls.Count);

    /// <summary>Adds a line to <paramref name="errors"/> for every invalid value.</summary>
    internal void AddErrors(List<string> errors)
    {
        if (Urls is null || Urls.Count == 0)
        {
            errors.Add($"{nameof(Urls)} is empty; set at least one server address (Remote:Url in configuration, or UseRemote(new Uri(\"http://server:8000/\"))).");
        }
        else
        {
            for (var i = 0; i < Urls.Count; i++)
            {
                var url = Urls[i];
                if (url is null || !url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                {
                    errors.Add($"{nameof(Urls)}[{i}] is '{url}'; it must be an absolute http:// or https:// address such as http://server:8000/.");
                }
            }

            var repeated = Urls.Where(u => u is not null).GroupBy(u => u.AbsoluteUri).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
            if (repeated.Length > 0) errors.Add($"{nameof(Urls)} names {string.Join(", ", repeated)} more than once; list each replica once.");
        }

        if (!Enum.IsDefined(Protocol)) errors.Add($"{nameof(Protocol)} is {(int)Protocol}; it must be one of {string.Join(", ", Enum.GetNames<RemoteProtocol>())}.");
        if (ModelName is { } name && (name.Length == 0 || name.Contains('/'))) errors.Add($"{nameof(ModelName)} is '{name}'; it must be the model's name on the server, without '/' (or null for the hosted model's name).");
        if (Version is { } version && (version.Length == 0 || version.Contains('/'))) errors.Add($"{nameof(Version)} is '{version}'; it must be a version name without '/' (or null for the server's choice).");
        if (Timeout <= TimeSpan.Zero) errors.Add($"{nameof(Timeout)} is {Timeout}; it must be positive (default: 30 seconds).");
        if (MaxConcurrentBatches < 0) errors.Add($"{nameof(MaxConcurrentBatches)} is {MaxConcurrentBatches}; it must be 0 (4 per URL) or more.");
        if (Headers is null)
        {
            errors.Add($"{nameof(Headers)} is null; leave the default (none) or set a dictionary.");
        }
        else
        {
            foreach (var (header, value) in Headers)
            {
                if (string.IsNullOrWhiteSpace(header) || header.Any(c => c <= ' ' || c >= 127 || c == ':'))
                {
                    errors.Add($"{nameof(Headers)} holds the header name '{header}'; a header name is printable ASCII without spaces or ':'.");
                }
                else if (value is null || value.Any(c => c is '\r' or '\n'))
                {
                    errors.Add($"{nameof(Headers)}[{header}] is {(value is null ? "null" : "a value with a line break")}; it must be one line.");
                }
            }
        }
    }
}
