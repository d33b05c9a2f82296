using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace InProcServe.AspNetCore.Tests.Remote;

/// <summary>The app that calls remote models: a generic host with its models, started (which loads them) or failing to start.</summary>
internal static class RemoteClient
{
    internal static async Task<IHost> StartAsync(Action<IServiceCollection> register, IDictionary<string, string?>? configuration = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        if (configuration is not null) builder.Configuration.AddInMemoryCollection(configuration);
        register(builder.Services);
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Runs a model remotely on <paramref name="servers"/>; an in-memory server is reached through its handler.</summary>
    internal static IModelBuilder On(this IModelBuilder builder, params OipServer[] servers)
    {
        builder.UseRemote(remote =>
        {
            remote.Urls = servers.Select(s => s.Address).ToList();
            remote.Protocol = servers[0].Protocol;
            remote.BinaryTensors = servers[0].BinaryTensors;
            remote.ModelName = RemoteName(builder.Name);
        });
        if (servers.FirstOrDefault(s => s.CreateHandler is not null) is { CreateHandler: { } create })
        {
            builder.AddRemoteHttpClient().ConfigurePrimaryHttpMessageHandler(create);
        }

        return builder;
    }

    /// <summary>The server's name for a model: "fraud" serves the client's "fraud" and "fraud_local" compares with it.</summary>
    private static string RemoteName(string name) => name.Replace("_remote", "", StringComparison.Ordinal);
}
