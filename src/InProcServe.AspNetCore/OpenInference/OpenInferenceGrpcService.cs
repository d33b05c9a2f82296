using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using InProcServe.Protocol.Grpc;
using Microsoft.AspNetCore.Http;

namespace InProcServe.AspNetCore;

/// <summary>
/// The Open Inference Protocol's gRPC service (<c>inference.GRPCInferenceService</c>), over the same models, limits,
/// deadlines and errors as the REST endpoints: each failure is the REST status turned into its gRPC code, with the
/// same message. Outputs are always answered in <c>raw_output_contents</c>, as Triton answers them.
/// </summary>
internal sealed class OpenInferenceGrpcService(OpenInferenceServer server, IServiceProvider services) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = OpenInferenceModels.ServerReady(services) });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = server.Options.ServerName, Version = OpenInferenceServer.Version, Extensions = { OpenInferenceServer.Extensions } });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        var (_, served) = Find(request.Name, request.Version);
        return Task.FromResult(new ModelReadyResponse { Ready = served is not null });
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var (model, served) = Find(request.Name, request.Version);
        if (served is null) throw Failure(StatusCodes.Status503ServiceUnavailable, OpenInferenceModels.NotReady(model), server.Options.RetryAfter);
        var response = new ModelMetadataResponse { Name = request.Name, Platform = OpenInferenceServer.Platform };
        response.Versions.AddRange(model.Versions.Order().Select(v => v.ToString(CultureInfo.InvariantCulture)));
        response.Inputs.AddRange(served.Inputs.Select(Metadata));
        response.Outputs.AddRange(served.Outputs.Select(Metadata));
        return Task.FromResult(response);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        var (model, served) = Find(request.ModelName, request.ModelVersion);
        try
        {
            if (served is null) throw new InferenceError(StatusCodes.Status503ServiceUnavailable, OpenInferenceModels.NotReady(model));
            using var read = InferenceRequestReader.Read(request, served, server.Options.MaxElementsPerRequest);
            var (outputs, servedVersion) = await OpenInferenceModels.InferAsync(server, model, request.ModelVersion.Length == 0 ? null : served.Version, read, context.CancellationToken).ConfigureAwait(false);
            using var disposeOutputs = outputs;
            var response = new ModelInferResponse { ModelName = request.ModelName, ModelVersion = servedVersion.ToString(CultureInfo.InvariantCulture), Id = request.Id };
            foreach (var (name, value) in outputs)
            {
                var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = name, Datatype = DataTypes.Name(value.ElementType) };
                tensor.Shape.AddRange(value.Shape.ToArray());
                response.Outputs.Add(tensor);
                // The array is the message's from here on: wrapped, not copied.
                response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(BinaryTensors.Encode(value)));
            }

            return response;
        }
        catch (Exception error)
        {
            // The gRPC deadline cancels the call's token, which Describe answers as a run stopped at its deadline.
            var (status, message) = server.Describe(error, request.ModelName);
            throw Failure(status, message, server.Options.RetryAfter);
        }
    }

    /// <summary>The model and version asked for; an empty version is none. An unknown one is NOT_FOUND, as REST's 404.</summary>
    private (HostedModel Model, ModelSignature? Served) Find(string name, string version)
    {
        if (OpenInferenceModels.Find(services, name, Version(version), out var model, out var served) is { } missing) throw Failure(missing.StatusCode, missing.Message, server.Options.RetryAfter);
        return (model, served);
    }

    private static string? Version(string version) => version.Length == 0 ? null : version;

    private static ModelMetadataResponse.Types.TensorMetadata Metadata(TensorInfo tensor)
    {
        var metadata = new ModelMetadataResponse.Types.TensorMetadata { Name = tensor.Name, Datatype = OpenInferenceServer.Datatype(tensor) };
        metadata.Shape.AddRange(tensor.Shape.Select(d => d < 0 ? -1 : d));
        return metadata;
    }

    /// <summary>
    /// The REST status as a gRPC status, with the same message. A full queue or a model not ready is UNAVAILABLE, the
    /// code gRPC clients retry, with <c>grpc-retry-pushback-ms</c> for REST's Retry-After; a request over the limits
    /// is RESOURCE_EXHAUSTED, as gRPC's own refusal of a message over its size limit.
    /// </summary>
    internal static RpcException Failure(int status, string message, TimeSpan retryAfter)
    {
        var code = status switch
        {
            StatusCodes.Status400BadRequest => StatusCode.InvalidArgument,
            StatusCodes.Status404NotFound => StatusCode.NotFound,
            StatusCodes.Status413PayloadTooLarge => StatusCode.ResourceExhausted,
            StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable => StatusCode.Unavailable,
            StatusCodes.Status504GatewayTimeout => StatusCode.DeadlineExceeded,
            StatusCodes.Status500InternalServerError => StatusCode.Internal,
            StatusCodes.Status501NotImplemented => StatusCode.Unimplemented,
            _ => StatusCode.Unknown,
        };
        var trailers = new Metadata();
        if (code == StatusCode.Unavailable) trailers.Add("grpc-retry-pushback-ms", ((long)retryAfter.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        return new RpcException(new Status(code, message), trailers);
    }
}
