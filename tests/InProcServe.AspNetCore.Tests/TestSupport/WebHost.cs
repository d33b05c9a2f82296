using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.TestSupport;

/// <summary>A web app on ASP.NET Core's in-memory test server, started with the given registrations and endpoints.</summary>
internal sealed class WebHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private WebHost(WebApplication app)
    {
        this.app = app;
        Client = app.GetTestClient();
    }

    internal HttpClient Client { get; }

    internal IServiceProvider Services => app.Services;

    /// <summary>A handler that sends requests straight to the test server, for clients other than <see cref="Client"/> (gRPC's).</summary>
    internal HttpMessageHandler CreateHandler() => app.GetTestServer().CreateHandler();

    internal static async Task<WebHost> StartAsync(Action<WebApplicationBuilder> register, Action<WebApplication> map, IDictionary<string, string?>? configuration = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        if (configuration is not null) builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, WebJsonContext.Default));
        register(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new WebHost(app);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
