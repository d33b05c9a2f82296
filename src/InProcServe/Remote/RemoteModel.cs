using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace InProcServe;

/// <summary>
/// A model served elsewhere over the Open Inference Protocol (REST), as a contract binds to it: its signature from the
/// server's metadata, and batch executors that send each batch as one infer request through <see cref="RemoteReplicas"/>.
/// </summary>
/// <remarks>Thread-safe: executors share the HttpClient and the replicas, and each owns its request buffer.</remarks>
internal sealed class RemoteModel : IBatchTarget
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>How long a readiness probe of one replica may take at most; a health check must answer quickly.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly HttpClient http;
    private readonly KeyValuePair<string, string>[] headers;
    private readonly TimeSpan timeout;

    /// <summary>The model's path on a server: "v2/models/{name}" or "v2/models/{name}/versions/{version}".</summary>
    private readonly string modelPath;

    private RemoteModel(string name, RemoteOptions options, HttpClient http, ILogger logger)
    {
        Name = name;
        this.http = http;
        headers = options.Headers.ToArray();
        timeout = options.Timeout;
        var remoteName = options.ModelName ?? name;
        modelPath = $"v2/models/{Uri.EscapeDataString(remoteName)}" + (options.Version is { } v ? $"/versions/{Uri.EscapeDataString(v)}" : "");
        Replicas = new RemoteReplicas(name, options.Urls, options.Timeout, logger);
        ConcurrentRuns = options.EffectiveConcurrentBatches;
        Origin = $" (remote model '{remoteName}'{(options.Version is { } version ? $" version {version}" : "")} at {string.Join(", ", Replicas.All.Select(r => r.Url))})";
    }

    public string Name { get; }

    public string Origin { get; }

    public IReadOnlyList<TensorInfo> Inputs { get; private set; } = [];

    public IReadOnlyList<TensorInfo> Outputs { get; private set; } = [];

    public int? ConcurrentRuns { get; }

    /// <summary>The version number the host shows: the configured version if it is a number, else the highest numeric version the server lists, else 1.</summary>
    internal long Version { get; private set; } = 1;

    internal RemoteReplicas Replicas { get; }

    /// <summary>Reads the model's metadata from the first replica that answers, so contracts can be checked against it.</summary>
    /// <param name="name">The hosted model's name.</param>
    /// <param name="options">The model's remote options (valid).</param>
    /// <param name="http">The model's named HttpClient.</param>
    /// <param name="logger">For replicas that fail.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="InvalidOperationException">No replica answered with the model's metadata; the message says what each answered.</exception>
    internal static async Task<RemoteModel> ConnectAsync(string name, RemoteOptions options, HttpClient http, ILogger logger, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var model = new RemoteModel(name, options, http, logger);
        byte[] body;
        try
        {
            body = await model.Replicas.ExecuteAsync(static (replica, model, token) => model.GetAsync(replica, model.modelPath, token), model, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is HttpRequestException or TimeoutException)
        {
            throw new InvalidOperationException($"its metadata could not be read{model.Origin}: {error.Message}", error);
        }

        var (inputs, outputs, versions) = RestJsonCodec.ReadMetadata(body, $"'{name}'{model.Origin}");
        model.Inputs = inputs;
        model.Outputs = outputs;
        model.Version = long.TryParse(options.Version, out var configured) ? configured
            : versions.Select(v => long.TryParse(v, out var number) ? number : 0).DefaultIfEmpty(0).Max() is > 0 and var highest ? highest : 1;
        Log.RemoteModelConnected(logger, name, model.Origin.Trim(' ', '(', ')'), clock.Elapsed.TotalMilliseconds);
        return model;
    }

    /// <summary>Binds the contracts to the remote model's metadata (the message lists every difference) and makes a runner.</summary>
    /// <exception cref="InvalidOperationException">The contracts don't fit the model.</exception>
    internal ModelRunner<TInput, TOutput> CreateRunner<TInput, TOutput>(int maxBatchSize)
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput>
    {
        var binding = Bind<TInput, TOutput>();
        return new ModelRunner<TInput, TOutput>(binding, binding.FixedBatchSize ?? maxBatchSize);
    }

    /// <summary>As <see cref="CreateRunner{TInput, TOutput}"/>, for queued calls on <paramref name="lane"/>.</summary>
    internal ModelBatcher<TInput, TOutput> CreateBatcher<TInput, TOutput>(ExecutionLane lane, BatchingOptions options)
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput>
    {
        options.Validate(Name);
        return new ModelBatcher<TInput, TOutput>(Bind<TInput, TOutput>(), lane, options.Clone());
    }

    /// <summary>Asks every replica whether the model is ready (<c>GET …/ready</c>), each within a few seconds.</summary>
    /// <returns>Per replica, in order: its address and null when ready, else why not.</returns>
    internal async Task<(Uri Url, string? NotReady)[]> ProbeAsync(CancellationToken cancellationToken)
    {
        return await Task.WhenAll(Replicas.All.Select(async replica =>
        {
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            probe.CancelAfter(timeout < ProbeTimeout ? timeout : ProbeTimeout);
            try
            {
                await GetAsync(replica, modelPath + "/ready", probe.Token).ConfigureAwait(false);
                return (replica.Url, (string?)null);
            }
            catch (HttpRequestException error)
            {
                return (replica.Url, error.Message);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (replica.Url, $"no answer within {(timeout < ProbeTimeout ? timeout : ProbeTimeout).TotalSeconds:0.#} s");
            }
        })).ConfigureAwait(false);
    }

    IBatchExecutor IBatchTarget.CreateExecutor((string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs, int capacity) =>
        new RemoteExecutor(this, inputs, outputs);

    private ContractBinding Bind<TInput, TOutput>()
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput> =>
        ContractBinding.Bind(this, $"{typeof(TInput).Name} → {typeof(TOutput).Name}", TInput.InputTensors, TOutput.OutputTensors);

    private async ValueTask<byte[]> GetAsync(RemoteReplica replica, string path, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, replica, path);
        return await SendAsync(request, replica, path, cancellationToken).ConfigureAwait(false);
    }

    private HttpRequestMessage Request(HttpMethod method, RemoteReplica replica, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(replica.Url, path));
        foreach (var (header, value) in headers) request.Headers.TryAddWithoutValidation(header, value);
        return request;
    }

    /// <summary>Sends a request and returns the body of a 2xx answer.</summary>
    /// <exception cref="HttpRequestException">
    /// No answer (no status), or an answer other than 2xx (its status, and the server's "error" in the message).
    /// </exception>
    private async ValueTask<byte[]> SendAsync(HttpRequestMessage request, RemoteReplica replica, string path, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException error) when (error.StatusCode is null)
        {
            throw new HttpRequestException($"Model '{Name}': {request.Method} {replica.Url}{path} got no answer: {error.Message}", error);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return body;
            throw new HttpRequestException(
                $"Model '{Name}': {request.Method} {replica.Url}{path} answered {(int)response.StatusCode} {response.ReasonPhrase}: {RestJsonCodec.ErrorOf(body)}",
                null,
                response.StatusCode);
        }
    }

    /// <summary>
    /// Runs a batch as one REST infer request: the JSON is written straight from the input buffers into a buffer this
    /// executor keeps, and the answer is read straight into the output buffers.
    /// </summary>
    private sealed class RemoteExecutor(RemoteModel model, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs) : IBatchExecutor
    {
        private readonly ArrayBufferWriter<byte> body = new();

        private RemoteModel Model => model;

        /// <summary>A direct (synchronous) call of a remote model waits for the answer on the calling thread.</summary>
        public void Run(int rows, CancellationToken cancellationToken)
        {
            var run = RunAsync(rows, cancellationToken);
            if (run.IsCompletedSuccessfully) return;
            run.AsTask().GetAwaiter().GetResult();
        }

        /// <summary>Never called: a remote model's batcher runs its batches with <see cref="RunAsync"/>, off the lane worker.</summary>
        public bool Run(int rows, RunControl control) =>
            throw new InvalidOperationException($"Model '{model.Name}'{model.Origin}: a remote run does not take a lane worker's run options; the batcher must call RunAsync.");

        public async ValueTask RunAsync(int rows, CancellationToken cancellationToken)
        {
            body.ResetWrittenCount();
            RestJsonCodec.WriteRequest(body, inputs, outputs, rows);
            var answer = await model.Replicas.ExecuteAsync(
                static async (replica, executor, token) =>
                {
                    var model = executor.Model;
                    using var request = model.Request(HttpMethod.Post, replica, model.modelPath + "/infer");
                    request.Content = new ReadOnlyMemoryContent(executor.body.WrittenMemory);
                    request.Content.Headers.ContentType = Json;
                    return await model.SendAsync(request, replica, model.modelPath + "/infer", token).ConfigureAwait(false);
                },
                this,
                cancellationToken).ConfigureAwait(false);
            RestJsonCodec.ReadResponse(answer, outputs, rows, $"'{model.Name}'{model.Origin}");
        }

        public void Dispose()
        {
            // The request buffer is managed memory; the HttpClient and the replicas belong to the model.
        }
    }
}
