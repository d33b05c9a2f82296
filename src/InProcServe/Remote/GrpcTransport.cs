using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using InProcServe.Protocol.Grpc;

namespace InProcServe;

/// <summary>
/// The gRPC binding (service <c>inference.GRPCInferenceService</c>): ModelMetadata, ModelReady, and a batch as one
/// ModelInfer whose tensors travel as raw little-endian bytes (<c>raw_input_contents</c>, <c>raw_output_contents</c>), one
/// copy each way between the batch buffers and the messages. One channel per replica, all over the model's named HttpClient.
/// </summary>
internal sealed class GrpcTransport : IRemoteTransport
{
    private readonly string model;
    private readonly string remoteName;
    private readonly string version;
    private readonly Metadata headers = [];
    private readonly Dictionary<RemoteReplica, GRPCInferenceService.GRPCInferenceServiceClient> clients;
    private readonly GrpcChannel[] channels;

    /// <param name="model">The hosted model's name, for messages.</param>
    /// <param name="options">The remote options (valid).</param>
    /// <param name="http">The model's named HttpClient: every channel sends through it.</param>
    /// <param name="replicas">The replicas, one channel each.</param>
    internal GrpcTransport(string model, RemoteOptions options, HttpClient http, IReadOnlyList<RemoteReplica> replicas)
    {
        this.model = model;
        remoteName = options.ModelName ?? model;
        version = options.Version ?? "";
        foreach (var (name, value) in options.Headers) headers.Add(name.ToLowerInvariant(), value);
        channels = replicas.Select(r => GrpcChannel.ForAddress(r.Url, new GrpcChannelOptions
        {
            HttpClient = http,
            // A try past its timeout is canceled through its token; as OperationCanceledException, Polly counts it as timed out.
            ThrowOperationCanceledOnCancellation = true,
            MaxReceiveMessageSize = null,
        })).ToArray();
        clients = replicas.Select((r, i) => (r, i)).ToDictionary(p => p.r, p => new GRPCInferenceService.GRPCInferenceServiceClient(channels[p.i]));
    }

    /// <summary>Disposes the channels (calls still in flight are canceled); the HttpClient belongs to the factory.</summary>
    public void Dispose()
    {
        foreach (var channel in channels) channel.Dispose();
    }

    public async ValueTask<RemoteMetadata> MetadataAsync(RemoteReplica replica, CancellationToken cancellationToken)
    {
        var answer = await CallAsync(replica, "ModelMetadata", c => c.ModelMetadataAsync(new ModelMetadataRequest { Name = remoteName, Version = version }, headers, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new RemoteMetadata(Tensors(answer.Inputs), Tensors(answer.Outputs), answer.Versions.ToArray());
    }

    public async ValueTask ReadyAsync(RemoteReplica replica, CancellationToken cancellationToken)
    {
        var answer = await CallAsync(replica, "ModelReady", c => c.ModelReadyAsync(new ModelReadyRequest { Name = remoteName, Version = version }, headers, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (!answer.Ready)
        {
            throw new HttpRequestException($"Model '{model}': {replica.Url} says model '{remoteName}' is not ready (gRPC ModelReady).", null, HttpStatusCode.ServiceUnavailable);
        }
    }

    public IBatchExecutor CreateExecutor(RemoteModel remote, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs) =>
        new Executor(this, remote, inputs, outputs);

    private static TensorInfo[] Tensors(IEnumerable<ModelMetadataResponse.Types.TensorMetadata> tensors) =>
        tensors.Select(t => new TensorInfo(
            t.Name,
            OipDataTypes.Parse(t.Datatype) ?? TensorElementType.Undefined,
            [.. t.Shape],
            [.. t.Shape.Select(_ => (string?)null)])).ToArray();

    /// <summary>Makes a call, turning a gRPC failure into the <see cref="HttpRequestException"/> its status stands for.</summary>
    private async Task<T> CallAsync<T>(RemoteReplica replica, string method, Func<GRPCInferenceService.GRPCInferenceServiceClient, AsyncUnaryCall<T>> call)
    {
        try
        {
            return await call(clients[replica]).ConfigureAwait(false);
        }
        catch (RpcException error)
        {
            var message = $"Model '{model}': gRPC {method} to {replica.Url} failed with {error.StatusCode}: {error.Status.Detail}";
            throw error.StatusCode == StatusCode.Unavailable
                ? new HttpRequestException(message, error) // No answer: no status, as for a refused connection over REST.
                : new HttpRequestException(message, error, HttpStatus(error.StatusCode));
        }
    }

    /// <summary>The HTTP status a gRPC status stands for (the mapping the gRPC-HTTP/JSON gateways use).</summary>
    private static HttpStatusCode HttpStatus(StatusCode status) => status switch
    {
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => HttpStatusCode.BadRequest,
        StatusCode.Unauthenticated => HttpStatusCode.Unauthorized,
        StatusCode.PermissionDenied => HttpStatusCode.Forbidden,
        StatusCode.NotFound => HttpStatusCode.NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => HttpStatusCode.Conflict,
        StatusCode.ResourceExhausted => HttpStatusCode.TooManyRequests,
        StatusCode.Unimplemented => HttpStatusCode.NotImplemented,
        StatusCode.DeadlineExceeded => HttpStatusCode.GatewayTimeout,
        StatusCode.Cancelled => (HttpStatusCode)499,
        _ => HttpStatusCode.InternalServerError,
    };

    /// <summary>Runs a batch as one ModelInfer, the input rows copied once into the request's raw contents.</summary>
    private sealed class Executor : RemoteExecutor
    {
        private readonly GrpcTransport transport;
        private readonly (string Name, TensorBuffer Buffer)[] inputs;
        private readonly (string Name, TensorBuffer Buffer)[] outputs;
        private readonly ModelInferRequest request;

        internal Executor(GrpcTransport transport, RemoteModel remote, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs)
            : base(remote)
        {
            this.transport = transport;
            this.inputs = inputs;
            this.outputs = outputs;
            // The request's tensors are described once; a batch changes only the batch dimension and the raw bytes.
            request = new ModelInferRequest { ModelName = transport.remoteName, ModelVersion = transport.version };
            foreach (var (name, buffer) in inputs)
            {
                var tensor = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = DataTypes.Name(buffer.ElementType) };
                tensor.Shape.Add(0);
                tensor.Shape.AddRange(buffer.RowDimensions);
                request.Inputs.Add(tensor);
            }

            foreach (var (name, _) in outputs) request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = name });
        }

        public override async ValueTask RunAsync(int rows, CancellationToken cancellationToken)
        {
            request.RawInputContents.Clear();
            for (var i = 0; i < inputs.Length; i++)
            {
                var buffer = inputs[i].Buffer;
                request.Inputs[i].Shape[0] = rows;
                request.RawInputContents.Add(Raw(buffer, rows));
            }

            var answer = await Remote.Replicas.ExecuteAsync(
                static async (replica, executor, token) => await executor.transport.CallAsync(replica, "ModelInfer", c => c.ModelInferAsync(executor.request, executor.transport.headers, cancellationToken: token)).ConfigureAwait(false),
                this,
                cancellationToken).ConfigureAwait(false);
            Read(answer, rows);
        }

        /// <summary>Copies each output's raw bytes into its buffer after checking its datatype and shape.</summary>
        /// <exception cref="InvalidDataException">An output is missing, has another datatype or shape, or came without raw contents.</exception>
        private void Read(ModelInferResponse answer, int rows)
        {
            foreach (var (name, buffer) in outputs)
            {
                var index = -1;
                for (var i = 0; i < answer.Outputs.Count; i++)
                {
                    if (answer.Outputs[i].Name == name) index = i;
                }

                if (index < 0)
                {
                    throw new InvalidDataException($"Model {Remote.Described}: the ModelInfer response lacks output '{name}', which the contract reads; it holds {string.Join(", ", answer.Outputs.Select(o => o.Name))}.");
                }

                var output = answer.Outputs[index];
                var expected = DataTypes.Name(buffer.ElementType);
                var rowLength = output.Shape.Count == 0 ? -1 : output.Shape.Skip(1).Aggregate(1L, (product, size) => product * size);
                if (output.Datatype != expected || output.Shape.Count == 0 || output.Shape[0] != rows || rowLength != buffer.RowLength)
                {
                    throw new InvalidDataException(
                        $"Model {Remote.Described}: output '{name}' came as {output.Datatype}[{string.Join(",", output.Shape)}]; the contract reads {expected}[{rows}{string.Concat(buffer.RowDimensions.Select(x => "," + x))}] ({buffer.RowLength} elements a row).");
                }

                var bytes = rows * buffer.BytesPerRow;
                if (index >= answer.RawOutputContents.Count || answer.RawOutputContents[index].Length != bytes)
                {
                    throw new InvalidDataException(
                        $"Model {Remote.Described}: output '{name}' came with {(index < answer.RawOutputContents.Count ? $"{answer.RawOutputContents[index].Length} raw bytes" : "no raw_output_contents (typed contents are not read)")}; its shape needs {bytes} raw bytes.");
                }

                Fill(buffer, answer.RawOutputContents[index]);
            }
        }

        private static unsafe ByteString Raw(TensorBuffer buffer, int rows) => ByteString.CopyFrom(new ReadOnlySpan<byte>(buffer.Data, rows * buffer.BytesPerRow));

        private static unsafe void Fill(TensorBuffer buffer, ByteString raw) => raw.Span.CopyTo(new Span<byte>(buffer.Data, raw.Length));
    }
}
