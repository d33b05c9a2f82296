using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.Endpoints;

/// <summary><c>MapModel</c>: typed JSON in and out, and every error status with a message a client can act on.</summary>
public sealed class ModelEndpointTests
{
    [Fact]
    public async Task A_request_and_an_array_of_requests_are_scored_as_numpy_scores_them()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(30).ToArray();
        var expected = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        await using var host = await StartScoring();

        var single = await host.Client.PostAsJsonAsync("/score", new ScoreRequest(rows[0]));
        var many = await host.Client.PostAsJsonAsync("/score", rows.Select(r => new ScoreRequest(r)).ToArray());

        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal("application/json; charset=utf-8", single.Content.Headers.ContentType!.ToString());
        var one = (await single.Content.ReadFromJsonAsync<ScoreResponse>())!;
        Assert.Equal(expected[0], one.Probability, 1e-5);
        Assert.Equal(one.Probability >= 0.5f, one.Flagged);
        var all = (await many.Content.ReadFromJsonAsync<ScoreResponse[]>())!;
        Assert.Equal(rows.Length, all.Length);
        for (var i = 0; i < rows.Length; i++) Assert.Equal(expected[i], all[i].Probability, 1e-5);
    }

    [Theory]
    [InlineData("""{"features": [0.1, 0.2""", "Malformed JSON", "The body is not valid JSON:")]
    [InlineData("""{"features": "many"}""", "Malformed JSON", "$.features")]
    [InlineData("""{"features": [1, NaN]}""", "Malformed JSON", "The body is not valid JSON: 'N' is an invalid start of a value.")]
    [InlineData("", "Bad request", "The body is empty; send a JSON ScoreRequest object, or an array of them.")]
    [InlineData("null", "Bad request", "The body is null; send a JSON ScoreRequest object.")]
    [InlineData("[]", "Bad request", "The array is empty; send at least one ScoreRequest object.")]
    [InlineData("""{"features": [1, 2, 3]}""", "Invalid request", "has 3 elements; the model contract declares 30.")]
    public async Task A_bad_body_is_answered_400_with_what_is_wrong_and_the_server_keeps_serving(string body, string title, string detail)
    {
        await using var host = await StartScoring();

        var answer = await host.Client.PostAsync("/score", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        var problem = await Problem(answer);
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsJsonAsync("/score", new ScoreRequest(new float[30]))).StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_answered_413()
    {
        await using var host = await StartScoring(services => services.Configure<ModelEndpointOptions>(o => o.MaxRequestBodyBytes = 200));

        var answer = await host.Client.PostAsJsonAsync("/score", new ScoreRequest(Enumerable.Repeat(0.123456f, 30).ToArray()));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.StatusCode);
        Assert.Equal("The body is over the limit of 200 bytes.", (await Problem(answer)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_failure_inside_the_model_is_answered_500_without_its_details()
    {
        // Middleware that throws the way a bug would: the client must not see the exception's text.
        await using var host = await StartScoring(configure: builder => builder.AddMiddleware<Explode>());

        var answer = await host.Client.PostAsJsonAsync("/score", new ScoreRequest(new float[30], Customer: "boom"));

        Assert.Equal(HttpStatusCode.InternalServerError, answer.StatusCode);
        var detail = (await Problem(answer)).GetProperty("detail").GetString();
        Assert.Equal("Model 'Scoring' failed to score the request; the server log has the details.", detail);
        Assert.DoesNotContain("secret", detail);
    }

    [Fact]
    public async Task A_full_queue_is_answered_429_with_Retry_After_and_a_passed_deadline_504_which_frees_the_worker()
    {
        await using var host = await WebHost.StartAsync(
            builder => builder.Services.ConfigureLane("one", lane => lane.Workers = 1).AddModel<Slow>().UseLane("one").ConfigureBatching(b =>
            {
                b.MaxBatchSize = 1;
                b.QueueCapacity = 1;
                b.FullMode = QueueFullMode.Reject;
                b.DefaultTimeout = TimeSpan.FromSeconds(3);
            }).WarmUp(1),
            app => app.MapModel<Slow>("/slow"));
        var busy = new SlowInput(new float[512], 10_000_000); // would hold the lane's worker for minutes; its deadline terminates it
        var quick = new SlowInput(new float[512], 1);
        var slow = host.Services.GetRequiredService<ModelCatalog>()["Slow"];
        using var batches = new DequeueCounter(host.Services.GetRequiredService<IMeterFactory>());
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsJsonAsync("/slow", quick)).StatusCode);
        var before = batches.Count;

        // Each step waits for the server to reach its state: the busy batch on the worker, then the quick call queued.
        var running = host.Client.PostAsJsonAsync("/slow", busy);
        for (var waited = 0; batches.Count == before && waited < 1000; waited++) await Task.Delay(10);
        await Task.Delay(500); // the queued call's deadline falls this long after the busy one's, time to run it after the terminate
        var queued = host.Client.PostAsJsonAsync("/slow", quick);
        for (var waited = 0; slow.QueueLength == 0 && waited < 1000; waited++) await Task.Delay(10);
        var rejected = await host.Client.PostAsJsonAsync("/slow", quick);

        Assert.Equal((HttpStatusCode)429, rejected.StatusCode);
        Assert.Equal("1", rejected.Headers.GetValues("Retry-After").Single());
        Assert.Contains("Model 'Slow': its queue is full (1 requests waiting, the limit)", (await Problem(rejected)).GetProperty("detail").GetString());
        var timedOut = await running;
        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        Assert.Equal("Model 'Slow' did not answer within the request's deadline.", (await Problem(timedOut)).GetProperty("detail").GetString());
        // The deadline terminated the busy run, so the worker was free for the queued request within its own deadline.
        Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
    }

    [Fact]
    public async Task Mapping_a_model_that_was_never_added_says_which_call_to_add()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => WebHost.StartAsync(_ => { }, app => app.MapModel<Scoring>("/score")));

        Assert.Equal("MapModel<Scoring>(\"/score\") needs a model named 'Scoring': add builder.Services.AddModel<Scoring>() before building the app.", error.Message);
    }

    /// <summary>Counts batches taken off this host's queues (the queue-duration histogram records one per request taken).</summary>
    private sealed class DequeueCounter : IDisposable
    {
        private readonly MeterListener listener = new();
        private int count;

        internal DequeueCounter(IMeterFactory factory)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "inprocserve.queue.duration") l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref count));
            listener.Start();
        }

        internal int Count => Volatile.Read(ref count);

        public void Dispose() => listener.Dispose();
    }

    private static Task<WebHost> StartScoring(Action<IServiceCollection>? services = null, Action<IModelBuilder>? configure = null) =>
        WebHost.StartAsync(
            builder =>
            {
                var model = builder.Services.AddModel<Scoring>().AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>();
                configure?.Invoke(model);
                services?.Invoke(builder.Services);
            },
            app => app.MapModel<Scoring>("/score"));

    private static async Task<JsonElement> Problem(HttpResponseMessage answer)
    {
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType!.MediaType);
        return JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
    }

    /// <summary>Middleware that fails calls from customer "boom", the way a bug would.</summary>
    public sealed class Explode : IModelMiddleware<ScoreRequest, ScoreResponse>
    {
        public ValueTask<ScoreResponse> InvokeAsync(ScoreRequest request, ModelCallContext context, ModelCallDelegate<ScoreRequest, ScoreResponse> next) =>
            request.Customer == "boom" ? throw new InvalidOperationException("secret internal detail") : next(request, context);
    }
}
