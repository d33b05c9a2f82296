using InProcServe.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.Remote;

/// <summary>
/// This project's Open Inference Protocol server (MapOpenInferenceProtocol on REST, MapOpenInferenceGrpc on gRPC) over the
/// committed models, registered from configuration alone under their file names: in memory (TestServer) or on Kestrel at a
/// free loopback port (HTTP/2 alone for gRPC, h2c as Triton's gRPC port speaks it).
/// </summary>
internal sealed class OipServer : IAsyncDisposable
{
    internal static readonly string[] Models = ["fraud", "multi_io", "images", "all_types"];

    private readonly WebApplication app;
    private int stopped;

    private OipServer(WebApplication app, Uri address, string binding, Func<HttpMessageHandler>? createHandler)
    {
        this.app = app;
        Address = address;
        Protocol = binding == "grpc" ? RemoteProtocol.Grpc : RemoteProtocol.Rest;
        BinaryTensors = binding == "binary";
        CreateHandler = createHandler;
    }

    /// <summary>The server's root, such as http://127.0.0.1:41234/ (http://localhost/ in memory).</summary>
    internal Uri Address { get; }

    /// <summary>The binding the client is to use.</summary>
    internal RemoteProtocol Protocol { get; }

    /// <summary>Whether the client is to send REST calls with binary tensors.</summary>
    internal bool BinaryTensors { get; }

    /// <summary>Makes handlers that call into the in-memory server; null on Kestrel.</summary>
    internal Func<HttpMessageHandler>? CreateHandler { get; }

    /// <summary>Starts a server for clients of <paramref name="binding"/>: "json" or "binary" (REST), or "grpc".</summary>
    internal static async Task<OipServer> StartAsync(string binding, bool loopback)
    {
        var protocol = binding == "grpc" ? RemoteProtocol.Grpc : RemoteProtocol.Rest;
        var builder = WebApplication.CreateSlimBuilder();
        if (loopback)
        {
            builder.WebHost.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, endpoint =>
                endpoint.Protocols = protocol == RemoteProtocol.Grpc ? HttpProtocols.Http2 : HttpProtocols.Http1));
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Configuration.AddInMemoryCollection(Models.ToDictionary(m => $"InProcServe:Models:{m}:Path", m => (string?)TestModels.Path(m)));
        builder.Services.AddOpenInferenceProtocol();
        var app = builder.Build();
        app.MapOpenInferenceProtocol();
        app.MapOpenInferenceGrpc();
        await app.StartAsync();
        if (!loopback) return new OipServer(app, new Uri("http://localhost/"), binding, app.GetTestServer().CreateHandler);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new OipServer(app, new Uri(address.TrimEnd('/') + "/"), binding, null);
    }

    /// <summary>Stops the server (Kestrel stops listening, so later connections are refused); once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0) return;
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
