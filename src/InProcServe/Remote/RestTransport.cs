using System.Buffers;
using System.Net.Http.Headers;

namespace InProcServe;

/// <summary>
/// The REST binding: <c>GET v2/models/{name}[/versions/{v}]</c> for metadata, <c>…/ready</c> for readiness, and a batch as
/// one <c>POST …/infer</c> with JSON tensors, written straight from the input buffers and read straight into the outputs.
/// </summary>
internal sealed class RestTransport : IRemoteTransport
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly string model;
    private readonly HttpClient http;
    private readonly KeyValuePair<string, string>[] headers;

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
        modelPath = $"v2/models/{Uri.EscapeDataString(options.ModelName ?? model)}" + (options.Version is { } v ? $"/versions/{Uri.EscapeDataString(v)}" : "");
    }

    public async ValueTask<RemoteMetadata> MetadataAsync(RemoteReplica replica, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, replica, modelPath);
        var body = await SendAsync(request, replica, modelPath, cancellationToken).ConfigureAwait(false);
        return RestJsonCodec.ReadMetadata(body, $"'{model}'");
    }

    public async ValueTask ReadyAsync(RemoteReplica replica, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, replica, modelPath + "/ready");
        await SendAsync(request, replica, modelPath + "/ready", cancellationToken).ConfigureAwait(false);
    }

    public IBatchExecutor CreateExecutor(RemoteModel remote, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs) =>
        new Executor(this, remote, inputs, outputs);

    private HttpRequestMessage Request(HttpMethod method, RemoteReplica replica, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(replica.Url, path));
        foreach (var (header, value) in headers) request.Headers.TryAddWithoutValidation(header, value);
        return request;
    }

    /// <summary>Sends a request and returns the body of a 2xx answer.</summary>
    /// <exception cref="HttpRequestException">No answer (no status), or an answer other than 2xx (its status, and the server's "error" in the message).</exception>
    private async ValueTask<byte[]> SendAsync(HttpRequestMessage request, RemoteReplica replica, string path, CancellationToken cancellationToken)
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
            if (response.IsSuccessStatusCode) return body;
            throw new HttpRequestException(
                $"Model '{model}': {request.Method} {replica.Url}{path} answered {(int)response.StatusCode} {response.ReasonPhrase}: {RestJsonCodec.ErrorOf(body)}",
                null,
                response.StatusCode);
        }
    }

    /// <summary>Runs a batch as one infer request, from a JSON buffer this executor keeps between batches.</summary>
    private sealed class Executor(RestTransport transport, RemoteModel remote, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs)
        : RemoteExecutor(remote)
    {
        private readonly ArrayBufferWriter<byte> body = new();

        private RestTransport Transport => transport;

        public override async ValueTask RunAsync(int rows, CancellationToken cancellationToken)
        {
            body.ResetWrittenCount();
            RestJsonCodec.WriteRequest(body, inputs, outputs, rows);
            var answer = await Remote.Replicas.ExecuteAsync(
                static async (replica, executor, token) =>
                {
                    var transport = executor.Transport;
                    var path = transport.modelPath + "/infer";
                    using var request = transport.Request(HttpMethod.Post, replica, path);
                    request.Content = new ReadOnlyMemoryContent(executor.body.WrittenMemory);
                    request.Content.Headers.ContentType = Json;
                    return await transport.SendAsync(request, replica, path, token).ConfigureAwait(false);
                },
                this,
                cancellationToken).ConfigureAwait(false);
            RestJsonCodec.ReadResponse(answer, outputs, rows, Remote.Described);
        }
    }
}
