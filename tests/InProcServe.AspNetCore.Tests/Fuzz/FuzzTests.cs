using System.Net.Http.Json;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Fuzz;
using InProcServe.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace InProcServe.AspNetCore.Tests.Fuzz;

/// <summary>
/// The fuzz harness's short run (CI's): a few thousand requests of every malformed class, interleaved with valid ones
/// checked against the numpy references, sent over real loopback HTTP to Kestrel serving a typed model and three
/// models on /v2. Bounded in count and time; the long run is benchmarks/fuzz.sh (docs/robustness.md).
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Thousands_of_fuzzed_requests_get_no_5xx_every_4xx_names_its_problem_and_valid_ones_match_the_references()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["InProcServe:Models:multi_io:Path"] = TestModels.Path("multi_io"),
            ["InProcServe:Models:all_types:Path"] = TestModels.Path("all_types"),
            ["InProcServe:Models:dynamic:Path"] = TestModels.Path("dynamic"),
        });
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, WebJsonContext.Default));
        builder.Services.AddModel<Scoring>().AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>();
        builder.Services.AddOpenInferenceProtocol();
        await using var app = builder.Build();
        app.MapModel<Scoring>("/score");
        app.MapOpenInferenceProtocol();
        await app.StartAsync();
        var url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

        // The typed endpoint's valid request: a reference row, whose answer is checked against numpy here and must
        // then come back byte for byte.
        var reference = TestModels.Reference("fraud").Cases[1];
        var features = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).ToArray();
        using var client = new HttpClient { BaseAddress = url };
        using var first = await client.PostAsJsonAsync("/score", new ScoreRequest(features));
        var answer = await first.Content.ReadAsStringAsync();
        Assert.Equal(reference.Outputs[0].Data[0].GetDouble(), JsonDocument.Parse(answer).RootElement.GetProperty("probability").GetDouble(), 1e-5);
        var target = new FuzzTarget(
            [("Scoring", Reference("fraud")), ("multi_io", Reference("multi_io")), ("all_types", Reference("all_types")), ("dynamic", Reference("dynamic"))],
            "/score", JsonSerializer.Serialize(new { features }), answer);

        var report = await FuzzRunner.RunAsync(url, target, requests: 3000, limit: TimeSpan.FromSeconds(45), concurrency: 4, seed: 14, pid: Environment.ProcessId);
        output.WriteLine(report.Summary());

        Assert.Equal(0, report.ServerErrors);
        Assert.True(report.FailureCount == 0, report.Summary());
        Assert.True(report.Requests >= 500, $"Only {report.Requests} requests were sent in the time allowed.");
        Assert.True(report.ValidChecked >= report.Requests / 8, $"Only {report.ValidChecked} of {report.Requests} answers were valid ones checked against the references.");
        Assert.True(FuzzCases.Kinds.All(k => report.Counts.Keys.Any(c => c.Kind == k)) || report.Requests < 3000, "Some classes of malformed request were never sent: " + string.Join(", ", FuzzCases.Kinds.Where(k => !report.Counts.Keys.Any(c => c.Kind == k))));
        await app.StopAsync();
    }

    private static string Reference(string model) => Path.Combine(TestModels.Folder, model + ".reference.json");
}
