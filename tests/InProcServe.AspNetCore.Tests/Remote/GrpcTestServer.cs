using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using InProcServe.Protocol.Grpc;
using InProcServe.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.Remote;

/// <summary>
/// A small server of the protocol's gRPC service over the committed models (ModelSession.Run, raw tensors), for the remote
/// client's gRPC tests until InProcServe.AspNetCore serves gRPC itself: in memory (TestServer) or on Kestrel (h2c) at a free
/// loopback port.
/// </summary>
internal sealed class GrpcTestServer : IRemoteServer, IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Dictionary<string, ModelSession> sessions;
    private int stopped;

    private GrpcTestServer(WebApplication app, Dictionary<string, ModelSession> sessions, Uri address, Func<HttpMessageHandler>? createHandler)
    {
        this.app = app;
        this.sessions = sessions;
        Address = address;
        CreateHandler = createHandler;
    }

    public Uri Address { get; }

    public Func<HttpMessageHandler>? CreateHandler { get; }

    public RemoteProtocol Protocol => RemoteProtocol.Grpc;

    internal static async Task<GrpcTestServer> StartAsync(bool loopback)
    {
        var sessions = OipServer.Models.ToDictionary(m => m, m => ModelSession.Load(TestModels.Path(m)));
        var builder = WebApplication.CreateSlimBuilder();
        if (loopback) builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        else builder.WebHost.UseTestServer();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(sessions);
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        if (!loopback) return new GrpcTestServer(app, sessions, new Uri("http://localhost/"), app.GetTestServer().CreateHandler);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new GrpcTestServer(app, sessions, new Uri(address.TrimEnd('/') + "/"), null);
    }

    /// <summary>Stops the server (Kestrel stops listening, so later connections are refused); once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0) return;
        await app.StopAsync();
        await app.DisposeAsync();
        foreach (var session in sessions.Values) session.Dispose();
    }

    private sealed class Service(Dictionary<string, ModelSession> sessions) : GRPCInferenceService.GRPCInferenceServiceBase
    {
        public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
            Task.FromResult(new ModelReadyResponse { Ready = sessions.ContainsKey(request.Name) });

        public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
        {
            var session = Find(request.Name);
            var response = new ModelMetadataResponse { Name = request.Name, Platform = "onnxruntime_onnx", Versions = { session.Metadata.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
            response.Inputs.AddRange(session.Inputs.Select(Metadata));
            response.Outputs.AddRange(session.Outputs.Select(Metadata));
            return Task.FromResult(response);
        }

        public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
        {
            var session = Find(request.ModelName);
            var inputs = request.Inputs.Select((tensor, i) => new NamedTensor(tensor.Name, Decode(tensor.Datatype, tensor.Shape.ToArray(), request.RawInputContents[i]))).ToArray();
            try
            {
                using var outputs = session.Run(inputs, context.CancellationToken);
                var response = new ModelInferResponse { ModelName = request.ModelName, Id = request.Id };
                foreach (var wanted in request.Outputs)
                {
                    var value = outputs[wanted.Name];
                    var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = wanted.Name, Datatype = Datatype(value.ElementType) };
                    tensor.Shape.AddRange(value.Shape.ToArray());
                    response.Outputs.Add(tensor);
                    response.RawOutputContents.Add(Encode(value));
                }

                return Task.FromResult(response);
            }
            finally
            {
                foreach (var input in inputs) input.Value.Dispose();
            }
        }

        private ModelSession Find(string name) =>
            sessions.GetValueOrDefault(name) ?? throw new RpcException(new Status(StatusCode.NotFound, $"no model '{name}'"));

        private static ModelMetadataResponse.Types.TensorMetadata Metadata(TensorInfo info) =>
            new() { Name = info.Name, Datatype = Datatype(info.ElementType), Shape = { info.Shape } };

        private static string Datatype(TensorElementType type) => type switch
        {
            TensorElementType.Float => "FP32",
            TensorElementType.Double => "FP64",
            TensorElementType.Float16 => "FP16",
            _ => type.ToString().ToUpperInvariant(),
        };

        private static TensorValue Decode(string datatype, long[] shape, ByteString raw) => datatype switch
        {
            "FP32" => Fill<float>(shape, raw),
            "FP64" => Fill<double>(shape, raw),
            "FP16" => Fill<Half>(shape, raw),
            "BOOL" => Fill<bool>(shape, raw),
            "INT8" => Fill<sbyte>(shape, raw),
            "INT16" => Fill<short>(shape, raw),
            "INT32" => Fill<int>(shape, raw),
            "INT64" => Fill<long>(shape, raw),
            "UINT8" => Fill<byte>(shape, raw),
            "UINT16" => Fill<ushort>(shape, raw),
            "UINT32" => Fill<uint>(shape, raw),
            "UINT64" => Fill<ulong>(shape, raw),
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"datatype {datatype} is not served here")),
        };

        private static TensorValue Fill<T>(long[] shape, ByteString raw)
            where T : unmanaged
        {
            var value = TensorValue.Allocate<T>(shape);
            raw.Span.CopyTo(MemoryMarshal.AsBytes(value.GetSpan<T>()));
            return value;
        }

        private static ByteString Encode(TensorValue value) => value.ElementType switch
        {
            TensorElementType.Float => Bytes<float>(value),
            TensorElementType.Double => Bytes<double>(value),
            TensorElementType.Float16 => Bytes<Half>(value),
            TensorElementType.Bool => Bytes<bool>(value),
            TensorElementType.Int8 => Bytes<sbyte>(value),
            TensorElementType.Int16 => Bytes<short>(value),
            TensorElementType.Int32 => Bytes<int>(value),
            TensorElementType.Int64 => Bytes<long>(value),
            TensorElementType.UInt8 => Bytes<byte>(value),
            TensorElementType.UInt16 => Bytes<ushort>(value),
            TensorElementType.UInt32 => Bytes<uint>(value),
            TensorElementType.UInt64 => Bytes<ulong>(value),
            _ => throw new RpcException(new Status(StatusCode.Internal, $"output type {value.ElementType} is not served here")),
        };

        private static ByteString Bytes<T>(TensorValue value)
            where T : unmanaged => ByteString.CopyFrom(MemoryMarshal.AsBytes(value.GetSpan<T>()));
    }
}
