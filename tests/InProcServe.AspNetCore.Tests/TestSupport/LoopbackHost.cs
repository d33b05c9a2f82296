using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.TestSupport;

/// <summary>A web app on Kestrel at a free loopback port, for tests that need real HTTP: a browser, or a client outside the process.</summary>
internal sealed class LoopbackHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private LoopbackHost(WebApplication app, Uri address)
    {
        this.app = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address };
    }

    /// <summary>The app's root, such as http://127.0.0.1:41234/.</summary>
    internal Uri Address { get; }

    internal HttpClient Client { get; }

    internal IServiceProvider Services => app.Services;

    internal static async Task<LoopbackHost> StartAsync(Action<WebApplicationBuilder> register, Action<WebApplication> map, IDictionary<string, string?>? configuration = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        if (configuration is not null) builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, WebJsonContext.Default));
        register(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new LoopbackHost(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
