using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.Dashboard;

/// <summary><c>MapInProcServeDashboard</c> over HTTP: the page and its files, the snapshot it reads, and the authorization hook.</summary>
public sealed class DashboardEndpointTests
{
    [Fact]
    public async Task The_page_and_its_files_come_from_the_assembly_with_a_policy_that_allows_nothing_from_elsewhere()
    {
        await using var host = await Start();
        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Address };

        var bare = await noRedirects.GetAsync("/inprocserve?x=1");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/inprocserve/?x=1", bare.Headers.Location!.OriginalString);

        var page = await host.Client.GetAsync("/inprocserve/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType!.ToString());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"dashboard.js\" defer></script>", html);
        Assert.DoesNotContain("http", html.Replace("http://www.w3.org", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
        var policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", policy);
        Assert.Contains("script-src 'self'", policy);

        foreach (var (file, type) in new[] { ("dashboard.js", "text/javascript; charset=utf-8"), ("dashboard.css", "text/css; charset=utf-8") })
        {
            var answer = await host.Client.GetAsync($"/inprocserve/{file}");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(type, answer.Content.Headers.ContentType!.ToString());
            Assert.True((await answer.Content.ReadAsByteArrayAsync()).Length > 500);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/inprocserve/secrets.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/inprocserve/index.html")).StatusCode);
    }

    [Fact]
    public async Task The_snapshot_lists_each_model_with_its_state_calls_and_monitoring()
    {
        await using var host = await Start();
        var features = TestModels.Reference("fraud").Cases[0].Inputs[0].Data.Select(d => (float)d.GetDouble()).Take(30).ToArray();
        for (var i = 0; i < 20; i++) (await host.Client.PostAsJsonAsync("/score", new ScoreRequest(features))).EnsureSuccessStatusCode();

        using var snapshot = JsonDocument.Parse(await host.Client.GetStringAsync("/inprocserve/api/snapshot"));
        var models = snapshot.RootElement.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);

        Assert.Equal(["Scoring", "Slow"], models.Keys.Order());
        var scoring = models["Scoring"];
        Assert.Equal("Ready", scoring.GetProperty("state").GetString());
        Assert.Equal("Healthy", scoring.GetProperty("health").GetString());
        Assert.Equal(20, scoring.GetProperty("requests").GetInt64());
        Assert.Equal(20, scoring.GetProperty("outcomes").GetProperty("ok").GetInt64());
        Assert.Equal(3, scoring.GetProperty("latencyMilliseconds").GetArrayLength());
        Assert.Equal(20, scoring.GetProperty("batchSizeCounts").EnumerateArray().Sum(c => c.GetInt64()));
        Assert.Equal("cpu", scoring.GetProperty("lane").GetString());
        var version = Assert.Single(scoring.GetProperty("monitoring").GetProperty("versions").EnumerateArray());
        Assert.Equal(20, version.GetProperty("sampledRows").GetInt64());
        Assert.Equal("primary", version.GetProperty("role").GetString());
        Assert.Equal("Loaded", scoring.GetProperty("history")[0].GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, models["Slow"].GetProperty("monitoring").ValueKind);
        Assert.Equal(0, models["Slow"].GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task The_authorization_hook_refuses_the_page_its_files_and_its_data()
    {
        await using var host = await Start(o => o.Authorize = context => ValueTask.FromResult(context.Request.Headers["X-Operator"] == "yes"));

        foreach (var path in new[] { "/inprocserve/", "/inprocserve/dashboard.js", "/inprocserve/api/snapshot" })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await host.Client.GetAsync(path)).StatusCode);
            using var allowed = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "X-Operator", "yes" } } };
            Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(allowed)).StatusCode);
        }
    }

    [Fact]
    public void Mapping_the_dashboard_in_an_app_without_models_says_what_to_add()
    {
        var app = WebApplication.CreateSlimBuilder().Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapInProcServeDashboard());

        Assert.Equal("MapInProcServeDashboard(\"/inprocserve\") shows the app's models, but none was added: add builder.Services.AddModel<TDefinition>() before building the app.", error.Message);
    }

    /// <summary>
    /// The scoring model (monitored, and set up further by <paramref name="model"/>) at /score and the slow one beside it (not called),
    /// with the dashboard at /inprocserve.
    /// </summary>
    internal static Task<LoopbackHost> Start(Action<DashboardOptions>? configure = null, string scoringName = "Scoring", Action<IModelBuilder>? model = null, string slowName = "Slow") => LoopbackHost.StartAsync(
        builder =>
        {
            var scoring = builder.Services.AddModel<Scoring>(scoringName).AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>()
                .AddMonitoring(sampleRate: 1)
                .MonitorOutput<FraudScore>("probability", s => s.Probability);
            model?.Invoke(scoring);
            builder.Services.AddModel<Slow>(slowName);
        },
        app =>
        {
            app.MapModel<Scoring>("/score", scoringName);
            app.MapInProcServeDashboard("/inprocserve", configure);
        });
}
