using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace InProcServe;

/// <summary>
/// A model served elsewhere over the Open Inference Protocol, as a contract binds to it: its signature from the server's
/// metadata, and batch executors that send each batch as one infer request (REST or gRPC, <see cref="IRemoteTransport"/>)
/// through <see cref="RemoteReplicas"/>.
/// </summary>
/// <remarks>Thread-safe: executors share the transport and the replicas, and each owns its request.</remarks>
internal sealed class RemoteModel : IBatchTarget, IDisposable
{
    /// <summary>How long a readiness probe of one replica may take at most; a health check must answer quickly.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly IRemoteTransport transport;
    private readonly TimeSpan probeTimeout;

    private RemoteModel(string name, RemoteOptions options, HttpClient http, ILogger logger)
    {
        Name = name;
        // Each try is bounded by Remote:Timeout (a Polly timeout); HttpClient's own (100 s by default) would race it.
        http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        probeTimeout = options.Timeout < ProbeTimeout ? options.Timeout : ProbeTimeout;
        Replicas = new RemoteReplicas(name, options.Urls, options.Timeout, logger);
        transport = options.Protocol == RemoteProtocol.Grpc
            ? new GrpcTransport(name, options, http, Replicas.All)
            : new RestTransport(name, options, http);
        ConcurrentRuns = options.EffectiveConcurrentBatches;
        Origin = $" (remote model '{options.ModelName ?? name}'{(options.Version is { } version ? $" version {version}" : "")} over {options.Protocol} at {string.Join(", ", Replicas.All.Select(r => r.Url))})";
    }

    public string Name { get; }

    public string Origin { get; }

    public IReadOnlyList<TensorInfo> Inputs { get; private set; } = [];

    public IReadOnlyList<TensorInfo> Outputs { get; private set; } = [];

    public int? ConcurrentRuns { get; }

    /// <summary>The model's name and origin, quoted, for messages: "'fraud' (remote model 'fraud' over Rest at http://…/)".</summary>
    internal string Described => $"'{Name}'{Origin}";

    /// <summary>The version number the host shows: the configured version if it is a number, else the highest numeric version the server lists, else 1.</summary>
    internal long Version { get; private set; } = 1;

    internal RemoteReplicas Replicas { get; }

    /// <summary>Reads the model's metadata from the first replica that answers (another one if it fails on the way), so contracts can be checked against it.</summary>
    /// <param name="name">The hosted model's name.</param>
    /// <param name="options">The model's remote options (valid).</param>
    /// <param name="http">The model's named HttpClient.</param>
    /// <param name="logger">For replicas that fail.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="InvalidOperationException">No replica answered with the model's metadata; the message says what came.</exception>
    internal static async Task<RemoteModel> ConnectAsync(string name, RemoteOptions options, HttpClient http, ILogger logger, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var model = new RemoteModel(name, options, http, logger);
        RemoteMetadata metadata;
        try
        {
            metadata = await model.Replicas.ExecuteAsync(static (replica, transport, token) => transport.MetadataAsync(replica, token), model.transport, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is HttpRequestException or TimeoutException or InvalidDataException)
        {
            model.Dispose();
            throw new InvalidOperationException($"its metadata could not be read{model.Origin}: {error.Message}", error);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        model.Inputs = metadata.Inputs;
        model.Outputs = metadata.Outputs;
        model.Version = long.TryParse(options.Version, out var configured) ? configured
            : metadata.Versions.Select(v => long.TryParse(v, out var number) ? number : 0).DefaultIfEmpty(0).Max() is > 0 and var highest ? highest : 1;
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

    /// <summary>Asks every replica whether the model is ready, each within a few seconds.</summary>
    /// <returns>Per replica, in order: its address and null when ready, else why not.</returns>
    internal async Task<(Uri Url, string? NotReady)[]> ProbeAsync(CancellationToken cancellationToken)
    {
        return await Task.WhenAll(Replicas.All.Select(async replica =>
        {
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            probe.CancelAfter(probeTimeout);
            try
            {
                await transport.ReadyAsync(replica, probe.Token).ConfigureAwait(false);
                return (replica.Url, (string?)null);
            }
            catch (HttpRequestException error)
            {
                return (replica.Url, error.Message);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (replica.Url, $"no answer within {probeTimeout.TotalSeconds:0.#} s");
            }
        })).ConfigureAwait(false);
    }

    /// <summary>Releases the transport's connections (gRPC channels) once the version that used them is retired.</summary>
    public void Dispose() => transport.Dispose();

    IBatchExecutor IBatchTarget.CreateExecutor((string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs, int capacity) =>
        transport.CreateExecutor(this, inputs, outputs);

    private ContractBinding Bind<TInput, TOutput>()
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput> =>
        ContractBinding.Bind(this, $"{typeof(TInput).Name} → {typeof(TOutput).Name}", TInput.InputTensors, TOutput.OutputTensors);
}
