using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.Telemetry;

/// <summary>
/// What a tracer that listens to ASP.NET Core and InProcServe (as the sample's OpenTelemetry set-up does) gets: each
/// model call's span inside the span of the HTTP request that made it.
/// </summary>
public sealed class RequestTracingTests
{
    [Fact]
    public async Task A_model_call_is_traced_inside_the_request_that_made_it()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "InProcServe" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var host = await LoopbackHost.StartAsync(
            builder => builder.Services.AddModel<Scoring>("Traced").AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>(),
            app => app.MapModel<Scoring>("/score", "Traced"));
        var features = TestModels.Reference("fraud").Cases[0].Inputs[0].Data.Select(d => (float)d.GetDouble()).Take(30).ToArray();

        (await host.Client.PostAsJsonAsync("score", new ScoreRequest(features))).EnsureSuccessStatusCode();

        // Other tests' hosts run in parallel: this test's model has a name of its own.
        var call = Assert.Single(stopped, a => a.Source.Name == "InProcServe" && a.OperationName == "predict Traced");
        Assert.Equal("Microsoft.AspNetCore", call.Parent?.Source.Name);
        Assert.Equal("Microsoft.AspNetCore.Hosting.HttpRequestIn", call.Parent!.OperationName);
        Assert.Contains(call.Parent, stopped);
        Assert.Equal("queued", call.GetTagItem("inprocserve.call.mode"));
        Assert.Equal("ok", call.GetTagItem("inprocserve.outcome"));
        Assert.Equal(call.Parent!.TraceId, call.TraceId);
    }
}
