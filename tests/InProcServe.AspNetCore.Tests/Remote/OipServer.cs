using InProcServe.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.Remote;

/// <summary>
/// A server of the Open Inference Protocol (this project's MapOpenInferenceProtocol) over the committed models, registered
/// from configuration alone under their file names: in memory (TestServer) or on Kestrel at a free loopback port.
/// </summary>
internal sealed class OipServer : IRemoteServer, IAsyncDisposable
{
    internal static readonly string[] Models = ["fraud", "multi_io", "images", "all_types"];

    private readonly WebApplication app;
    private int stopped;

    private OipServer(WebApplication app, Uri address)
    {
        this.app = app;
        Address = address;
    }

    /// <summary>The server's root, such as http://127.0.0.1:41234/ (http://localhost/ in memory).</summary>
    public Uri Address { get; }

    /// <summary>Makes handlers that call into the in-memory server; null on Kestrel.</summary>
    public Func<HttpMessageHandler>? CreateHandler { get; private set; }

    public RemoteProtocol Protocol => RemoteProtocol.Rest;

    internal static async Task<OipServer> StartAsync(bool loopback)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (loopback) builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        else builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(Models.ToDictionary(m => $"InProcServe:Models:{m}:Path", m => (string?)TestModels.Path(m)));
        builder.Services.AddOpenInferenceProtocol();
        var app = builder.Build();
        app.MapOpenInferenceProtocol();
        await app.StartAsync();
        if (!loopback)
        {
            return new OipServer(app, new Uri("http://localhost/")) { CreateHandler = app.GetTestServer().CreateHandler };
        }

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new OipServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>Stops the server: Kestrel stops listening, so later connections are refused.</summary>
    internal async Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0) return;
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}

/// <summary>A server the remote tests call: where it is, how to reach it in memory, and which binding it speaks.</summary>
internal interface IRemoteServer : IAsyncDisposable
{
    Uri Address { get; }

    /// <summary>Makes handlers that call into an in-memory server; null for a server on a loopback port.</summary>
    Func<HttpMessageHandler>? CreateHandler { get; }

    RemoteProtocol Protocol { get; }

    /// <summary>Starts a server of the committed models that speaks <paramref name="protocol"/>, in memory or on a loopback port.</summary>
    static async Task<IRemoteServer> StartAsync(RemoteProtocol protocol, bool loopback) =>
        protocol == RemoteProtocol.Grpc ? await GrpcTestServer.StartAsync(loopback) : await OipServer.StartAsync(loopback);
}
