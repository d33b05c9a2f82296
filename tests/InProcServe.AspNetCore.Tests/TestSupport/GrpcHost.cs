using Grpc.Net.Client;
using InProcServe.Protocol.Grpc;
using InProcServe.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.TestSupport;

/// <summary>
/// A web app serving the Open Inference Protocol on REST and gRPC (the typed fraud model as "Scoring", and models from
/// configuration), with a gRPC client generated from the protocol's .proto: over the in-memory test server, or over
/// loopback HTTP/2 without TLS (Kestrel on a free port, HTTP/2 only), as Triton's and KServe's clients connect.
/// </summary>
internal sealed class GrpcHost : IAsyncDisposable
{
    private readonly IAsyncDisposable host;
    private readonly GrpcChannel channel;

    private GrpcHost(IAsyncDisposable host, GrpcChannel channel, IServiceProvider services)
    {
        this.host = host;
        this.channel = channel;
        Services = services;
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
    }

    internal GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    internal IServiceProvider Services { get; }

    internal static async Task<GrpcHost> StartAsync(bool loopback = false, Action<OpenInferenceOptions>? configure = null, IDictionary<string, string?>? configuration = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["InProcServe:Models:multi_io:Path"] = TestModels.Path("multi_io"),
            ["InProcServe:Models:all_types:Path"] = TestModels.Path("all_types"),
            ["InProcServe:Models:typed:Path"] = TestModels.Path("typed"),
            ["InProcServe:Models:strings:Path"] = TestModels.Path("strings"),
            ["InProcServe:Models:images:Path"] = TestModels.Path("images"),
            ["InProcServe:Models:dynamic:Path"] = TestModels.Path("dynamic"),
        };
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>()) settings[key] = value;

        void Register(WebApplicationBuilder builder)
        {
            builder.Services.AddModel<Scoring>().AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>();
            builder.Services.AddOpenInferenceProtocol(configure);
            // gRPC without TLS needs an endpoint that speaks HTTP/2 alone (h2c with prior knowledge).
            if (loopback) builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2));
        }

        static void Map(WebApplication app)
        {
            app.MapOpenInferenceProtocol();
            app.MapOpenInferenceGrpc();
        }

        if (loopback)
        {
            var web = await LoopbackHost.StartAsync(Register, Map, settings);
            return new GrpcHost(web, GrpcChannel.ForAddress(web.Address), web.Services);
        }

        var test = await WebHost.StartAsync(Register, Map, settings);
        return new GrpcHost(test, GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = test.CreateHandler() }), test.Services);
    }

    public async ValueTask DisposeAsync()
    {
        channel.Dispose();
        await host.DisposeAsync();
    }
}
