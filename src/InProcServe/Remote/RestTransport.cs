using System.Buffers;
using System.Net.Http.Headers;

namespace InProcServe;

/// <summary>
/// The REST binding: <c>GET v2/models/{name}[/versions/{v}]</c> for metadata, <c>…/ready</c> for readiness, and a batch as
/// one <c>POST …/infer</c> with JSON or binary tensors (<see cref="RemoteOptions.BinaryTensors"/>), written straight from the
/// input buffers and read straight into the outputs.
/// </summary>
internal sealed class RestTransport : IRemoteTransport
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue Binary = new("application/octet-stream");

    /// <summary>The binary tensor extension's header: the length of the JSON before the binary tensors.</summary>
    private const string HeaderLength = "Inference-Header-Content-Length";

    private readonly string model;
    private readonly HttpClient http;
    private readonly KeyValuePair<string, string>[] headers;
    private readonly bool binary;

    /// <summary>The model's path on a server: "v2/models/{name}" or "v2/models/{name}/versions/{version}".</summary>
    private readonly string modelPath;

    /// <param name="model">The hosted model's name, for messages.</param>
    /// <param name="options">The remote options (valid).</param>
    /// <param name="http">The model's named HttpClient.</param>
    internal RestTransport(string model, RemoteOptions options, HttpClient http)
    {
        this.model = model;
        this.http = http;
        headers = options.Headers.ToArray();
        binary = options.BinaryTensors;
        modelPath = $"v2/models/{Uri.EscapeDataString(options.ModelName ?? model)}" + (options.Version is { } v ? $"/versions/{Uri.EscapeDataString(v)}" : "");
    }

    public async ValueTask<RemoteMetadata> MetadataAsync(RemoteReplica replica, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, replica, modelPath);
        var (body, _) = await SendAsync(request, replica, modelPath, cancellationToken).ConfigureAwait(false);
        return RestCodec.ReadMetadata(body, $"'{model}'");
    }

    public async ValueTask ReadyAsync(RemoteReplica replica, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, replica, modelPath + "/ready");
        await SendAsync(request, replica, modelPath + "/ready", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Nothing to release: the HttpClient belongs to the factory.</summary>
    public void Dispose()
    {
    }

    public IBatchExecutor CreateExecutor(RemoteModel remote, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs) =>
        new Executor(this, remote, inputs, outputs);

    private HttpRequestMessage Request(HttpMethod method, RemoteReplica replica, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(replica.Url, path));
        foreach (var (header, value) in headers) request.Headers.TryAddWithoutValidation(header, value);
        return request;
    }

    /// <summary>Sends a request and returns the body of a 2xx answer, with the length of its JSON part when it holds binary tensors (else null).</summary>
    /// <exception cref="HttpRequestException">No answer (no status), or an answer other than 2xx (its status, and the server's "error" in the message).</exception>
    private async ValueTask<(byte[] Body, int? HeaderLength)> SendAsync(HttpRequestMessage request, RemoteReplica replica, string path, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException error) when (error.StatusCode is null)
        {
            throw new HttpRequestException($"Model '{model}': {request.Method} {replica.Url}{path} got no answer: {error.Message}", error);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return (body, JsonLength(response, body, replica, path));
            throw new HttpRequestException(
                $"Model '{model}': {request.Method} {replica.Url}{path} answered {(int)response.StatusCode} {response.ReasonPhrase}: {RestCodec.ErrorOf(body)}",
                null,
                response.StatusCode);
        }
    }

    /// <summary>The JSON part's length of an answer with binary tensors; null for an answer that is all JSON.</summary>
    /// <exception cref="HttpRequestException">The header is not a length within the body (a broken answer: tried again elsewhere).</exception>
    private int? JsonLength(HttpResponseMessage response, byte[] body, RemoteReplica replica, string path)
    {
        if (!response.Headers.TryGetValues(HeaderLength, out var values) && !response.Content.Headers.TryGetValues(HeaderLength, out values)) return null;
        var text = values.FirstOrDefault();
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) && length <= body.Length) return length;
        throw new HttpRequestException(
            $"Model '{model}': {replica.Url}{path} answered {HeaderLength}: {text}, which must be a length within the body's {body.Length} bytes.",
            null,
            System.Net.HttpStatusCode.BadGateway);
    }

    /// <summary>Runs a batch as one infer request, from a buffer this executor keeps between batches.</summary>
    private sealed class Executor(RestTransport transport, RemoteModel remote, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs)
        : RemoteExecutor(remote)
    {
        private readonly ArrayBufferWriter<byte> body = new();

        private RestTransport Transport => transport;

        /// <summary>The JSON part's length of the request being sent, for its header.</summary>
        private string HeaderText { get; set; } = "";

        public override async ValueTask RunAsync(int rows, CancellationToken cancellationToken)
        {
            body.ResetWrittenCount();
            HeaderText = RestCodec.WriteRequest(body, inputs, outputs, rows, transport.binary).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var (answer, jsonLength) = await Remote.Replicas.ExecuteAsync(
                static async (replica, executor, token) =>
                {
                    var transport = executor.Transport;
                    var path = transport.modelPath + "/infer";
                    using var request = transport.Request(HttpMethod.Post, replica, path);
                    request.Content = new ReadOnlyMemoryContent(executor.body.WrittenMemory);
                    request.Content.Headers.ContentType = transport.binary ? Binary : Json;
                    if (transport.binary) request.Headers.TryAddWithoutValidation(HeaderLength, executor.HeaderText);
                    return await transport.SendAsync(request, replica, path, token).ConfigureAwait(false);
                },
                this,
                cancellationToken).ConfigureAwait(false);
            var json = jsonLength ?? answer.Length;
            RestCodec.ReadResponse(answer.AsMemory(0, json), answer.AsSpan(json), outputs, rows, Remote.Described);
        }
    }
}
