using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace InProcServe.AspNetCore;

/// <summary>
/// The dashboard's three kinds of request: the page and its static files, embedded in this assembly (nothing is loaded
/// from elsewhere, and the Content-Security-Policy says so to the browser), and the JSON snapshot the page polls.
/// </summary>
internal sealed class DashboardEndpoints(ModelCatalog catalog, DashboardStatistics statistics, DashboardOptions options)
{
    /// <summary>The page's files: name → content type. The page is index.html; the others are named in it.</summary>
    private static readonly FrozenDictionary<string, string> Assets = new Dictionary<string, string>
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["dashboard.js"] = "text/javascript; charset=utf-8",
        ["dashboard.css"] = "text/css; charset=utf-8",
    }.ToFrozenDictionary();

    /// <summary>Nothing but this origin's own files and data: no script, style, image or connection anywhere else, and no framing.</summary>
    private const string ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private readonly Dictionary<string, byte[]> loaded = new(StringComparer.Ordinal);

    /// <summary>GET the page. A URL without its final slash is redirected to it, so that the page's relative links resolve under the dashboard's route.</summary>
    internal async Task PageAsync(HttpContext context)
    {
        if (!await AllowedAsync(context).ConfigureAwait(false)) return;
        var path = context.Request.PathBase + context.Request.Path;
        if (!path.HasValue || !path.Value!.EndsWith('/'))
        {
            context.Response.Redirect(path + "/" + context.Request.QueryString);
            return;
        }

        await WriteAssetAsync(context, "index.html").ConfigureAwait(false);
    }

    /// <summary>GET one of the page's files by name; 404 for any other name.</summary>
    internal async Task AssetAsync(HttpContext context)
    {
        if (!await AllowedAsync(context).ConfigureAwait(false)) return;
        var name = context.Request.RouteValues["file"] as string;
        if (name is null || name == "index.html" || !Assets.ContainsKey(name))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await WriteAssetAsync(context, name).ConfigureAwait(false);
    }

    /// <summary>GET the figures of every model now.</summary>
    internal async Task SnapshotAsync(HttpContext context)
    {
        if (!await AllowedAsync(context).ConfigureAwait(false)) return;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, Snapshot(), DashboardJsonContext.Default.DashboardSnapshot, context.RequestAborted).ConfigureAwait(false);
    }

    internal DashboardSnapshot Snapshot() => new(
        DateTimeOffset.UtcNow,
        (int)Math.Max(250, options.RefreshInterval.TotalMilliseconds),
        catalog.Models.Select(Describe).ToArray());

    private DashboardModel Describe(HostedModel model)
    {
        var ready = model.State == ModelState.Ready;
        var (health, cause) = model.State switch
        {
            ModelState.Failed => (HealthStatus.Unhealthy, model.LoadError?.Message),
            ModelState.NotLoaded => (HealthStatus.Unhealthy, "not loaded yet"),
            _ when model.ReloadError is { } error => (HealthStatus.Degraded, $"the last reload failed, so version {model.Version} goes on serving: {error.Message}"),
            _ => (HealthStatus.Healthy, null),
        };
        var figures = statistics.For(model.Name);
        var (outcomes, versions, shadow, batches, latency) = figures.Read();
        var disagreements = Interlocked.Read(ref figures.ShadowDisagreements);
        var compared = shadow.GetValueOrDefault("ok");
        return new DashboardModel(
            model.Name,
            model.State.ToString(),
            health.ToString(),
            cause,
            ready ? model.Version : null,
            model.Versions,
            ready ? model.Lane.Name : null,
            ready ? model.Lane.Workers : 0,
            model.QueueLength,
            model.QueueCapacity,
            model.MaxBatchSize,
            model.CanaryVersion,
            model.CanaryPercent,
            model.ShadowVersion,
            model.ShadowPercent,
            outcomes.Values.Sum(),
            outcomes,
            versions.ToDictionary(v => v.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), v => v.Value),
            latency,
            DashboardStatistics.BatchBounds,
            batches,
            shadow,
            disagreements,
            compared == 0 || disagreements > compared ? null : 1 - (double)disagreements / compared,
            Monitoring(model.GetMonitoringReport()),
            model.History.Reverse().Select(e => new DashboardEvent(e.Time, e.Kind.ToString(), e.Version, e.Detail)).ToArray());
    }

    private static DashboardMonitoring? Monitoring(MonitoringReport? report) => report is null ? null : new DashboardMonitoring(
        report.SampleRate,
        report.Versions.Select(v => new DashboardVersion(
            v.Version,
            v.Role,
            v.SampledRows,
            v.Outputs.Select(o => new DashboardOutput(
                o.Name,
                o.Count,
                Finite(o.Mean),
                o.Quantiles.Select(q => q.Level).ToArray(),
                o.Quantiles.Select(q => q.Value).ToArray(),
                o.BinEdges,
                o.BinCounts,
                o.NaNCount,
                o.PrimaryStability,
                o.BaselineStability)).ToArray(),
            v.Inputs.Select(c => new DashboardColumn(c.Tensor, c.Column, c.Count, Finite(c.Mean), Finite(c.StandardDeviation), c.NaNCount)).ToArray())).ToArray());

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>Runs <see cref="DashboardOptions.Authorize"/>; a refused request is answered 403 here.</summary>
    private async ValueTask<bool> AllowedAsync(HttpContext context)
    {
        if (options.Authorize is not { } authorize || await authorize(context).ConfigureAwait(false)) return true;
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return false;
    }

    private async Task WriteAssetAsync(HttpContext context, string name)
    {
        byte[] bytes;
        lock (loaded)
        {
            if (!loaded.TryGetValue(name, out bytes!))
            {
                using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream($"InProcServe.AspNetCore.Dashboard.{name}")
                    ?? throw new InvalidOperationException($"The dashboard's file '{name}' is missing from InProcServe.AspNetCore's resources.");
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                loaded[name] = bytes = copy.ToArray();
            }
        }

        context.Response.ContentType = Assets[name];
        context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }
}
