using Microsoft.AspNetCore.Http;

namespace InProcServe.AspNetCore;

/// <summary>How the dashboard page (<c>MapInProcServeDashboard</c>) behaves.</summary>
public sealed class DashboardOptions
{
    /// <summary>
    /// Decides whether a request may see the dashboard, its script and its data; a request it refuses gets 403. Runs
    /// on every request of the dashboard, after the app's authentication (<c>context.User</c> is set). Default: null,
    /// anyone who can reach the route. To use the app's authorization policies instead, call
    /// <c>.RequireAuthorization(…)</c> on what <c>MapInProcServeDashboard</c> returns.
    /// </summary>
    public Func<HttpContext, ValueTask<bool>>? Authorize { get; set; }

    /// <summary>How often the page asks for fresh figures. Default: 2 seconds; at least 250 ms.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many of each model's latest call durations the latency percentiles are computed over. Default: 4096.</summary>
    public int LatencyWindow { get; set; } = 4096;
}
