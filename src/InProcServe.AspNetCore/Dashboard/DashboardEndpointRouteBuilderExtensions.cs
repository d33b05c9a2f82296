using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace InProcServe.AspNetCore;

/// <summary>Maps InProcServe's dashboard page.</summary>
public static class DashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps a live dashboard of every hosted model under <paramref name="pattern"/>: versions, state and health cause,
    /// lane and queue, throughput and latency percentiles, the batch-size histogram, canary and shadow shares and the
    /// shadow's agreement, output distributions per version and their drift (for models with monitoring on,
    /// <c>AddMonitoring</c>), and each model's recent loads and reloads. Plain HTML and JavaScript from this assembly,
    /// refreshed from <c>GET <paramref name="pattern"/>/api/snapshot</c> (JSON); nothing is loaded from anywhere else.
    /// The dashboard is off unless mapped: mapping it starts listening to the app's <c>InProcServe</c> meter.
    /// </summary>
    /// <remarks>
    /// The page shows model names, versions and error messages: protect it as you would a metrics endpoint, with
    /// <see cref="DashboardOptions.Authorize"/> or <c>.RequireAuthorization(…)</c> on the returned builder.
    /// </remarks>
    /// <param name="endpoints">The app.</param>
    /// <param name="pattern">The dashboard's route. Default: <c>/inprocserve</c>.</param>
    /// <param name="configure">Sets the dashboard's options (<see cref="DashboardOptions"/>). Default: null, the defaults.</param>
    /// <returns>The dashboard's endpoints, to add authorization, rate limiting or other conventions to all of them.</returns>
    /// <exception cref="InvalidOperationException">No model was added (<c>AddModel</c>): there would be nothing to show.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="DashboardOptions.LatencyWindow"/> is below 1.</exception>
    public static IEndpointConventionBuilder MapInProcServeDashboard(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern = "/inprocserve", Action<DashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var services = endpoints.ServiceProvider;
        var catalog = services.GetService<ModelCatalog>() ?? throw new InvalidOperationException(
            $"MapInProcServeDashboard(\"{pattern}\") shows the app's models, but none was added: add builder.Services.AddModel<TDefinition>() before building the app.");
        var options = new DashboardOptions();
        configure?.Invoke(options);
        if (options.LatencyWindow < 1) throw new ArgumentOutOfRangeException(nameof(configure), options.LatencyWindow, "DashboardOptions.LatencyWindow must be 1 or more.");

        var statistics = new DashboardStatistics(services.GetRequiredService<IMeterFactory>(), options.LatencyWindow);
        services.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(statistics.Dispose);
        var handlers = new DashboardEndpoints(catalog, statistics, options);

        var group = endpoints.MapGroup(pattern);
        group.MapGet("/", handlers.PageAsync).WithDisplayName("InProcServe dashboard");
        group.MapGet("/api/snapshot", handlers.SnapshotAsync).WithDisplayName("InProcServe dashboard snapshot");
        group.MapGet("/{file}", handlers.AssetAsync).WithDisplayName("InProcServe dashboard files");
        return group;
    }
}
