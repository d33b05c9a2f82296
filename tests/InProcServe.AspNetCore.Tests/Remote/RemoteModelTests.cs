using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace InProcServe.AspNetCore.Tests.Remote;

/// <summary>
/// Typed calls of models that run on an Open Inference Protocol server (this project's, in memory and over loopback REST):
/// the same answers as the same file loaded locally, itself checked against the numpy references, on every call path.
/// </summary>
public sealed class RemoteModelTests
{
    /// <summary>Every binding (REST with JSON tensors, REST with binary tensors, gRPC), in memory and over loopback.</summary>
    public static TheoryData<string, bool> Bindings => new()
    {
        { "json", false },
        { "json", true },
        { "binary", false },
        { "binary", true },
        { "grpc", false },
        { "grpc", true },
    };

    [Theory]
    [MemberData(nameof(Bindings))]
    public async Task Remote_fraud_answers_as_the_local_model_and_numpy_on_every_call_path(string binding, bool loopback)
    {
        var reference = TestModels.Reference("fraud");
        var tolerance = (float)reference.Tolerance;
        var cases = reference.Cases.SelectMany(c => Floats(c.Inputs[0]).Chunk(30).Zip(Floats(c.Outputs[0]))).ToArray();
        var inputs = cases.Select(c => new FraudFeatures(c.First)).ToArray();
        await using var server = await OipServer.StartAsync(binding, loopback);
        var counter = new CountingHandler();
        using var client = await RemoteClient.StartAsync(services =>
        {
            services.AddModel<Fraud>("fraud_remote").On(server).AddRemoteHttpClient().AddHttpMessageHandler(() => counter);
            services.AddModel<Fraud>("fraud_local").FromFile(TestModels.Path("fraud"));
        });
        var remote = client.Services.GetRequiredKeyedService<IModel<FraudFeatures, FraudScore>>("fraud_remote");
        var local = client.Services.GetRequiredKeyedService<IModel<FraudFeatures, FraudScore>>("fraud_local");

        var expected = inputs.Select(i => local.Predict(i)).ToArray();
        var queued = await Task.WhenAll(inputs.Select(i => remote.PredictAsync(i).AsTask()));
        var direct = inputs.Select(i => remote.Predict(i)).ToArray();
        var bulk = new FraudScore[inputs.Length];
        remote.Predict(inputs, bulk);
        var streamed = new List<FraudScore>();
        await foreach (var score in remote.PredictManyAsync(inputs.Streamed())) streamed.Add(score);

        // Binary REST calls went out and came back binary (the length of their JSON in a header); JSON ones did not.
        Assert.Equal(binding == "binary", counter.BinaryAnswers > 0);
        Assert.True(counter.Infers(server.Address) > 0);
        for (var i = 0; i < cases.Length; i++)
        {
            Assert.Equal(cases[i].Second, expected[i].Probability, tolerance);
            foreach (var answers in new[] { queued, direct, bulk, streamed.ToArray() })
            {
                Assert.Equal(expected[i].Probability, answers[i].Probability, tolerance);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Bindings))]
    public async Task Several_inputs_and_outputs_and_per_row_tensors_answer_as_the_local_model_and_numpy(string binding, bool loopback)
    {
        var multi = TestModels.Reference("multi_io");
        var images = TestModels.Reference("images");
        var pairs = Floats(multi.Cases[0].Inputs[0]).Chunk(4).Zip(Floats(multi.Cases[0].Inputs[1]).Chunk(4), (a, b) => new Pair(a, b)).ToArray();
        var pictures = images.Cases[0].Inputs[0].Data.Select(d => d.GetByte()).Chunk(48).Select(p => new Picture(p)).ToArray();
        await using var server = await OipServer.StartAsync(binding, loopback);
        using var client = await RemoteClient.StartAsync(services =>
        {
            services.AddModel<MultiIo>("multi_io_remote").On(server);
            services.AddModel<MultiIo>("multi_io_local").FromFile(TestModels.Path("multi_io"));
            services.AddModel<Images>("images_remote").On(server);
            services.AddModel<Images>("images_local").FromFile(TestModels.Path("images"));
        });

        var pairResults = await BothAsync<Pair, PairResult>(client, "multi_io", pairs);
        var sum = Floats(multi.Cases[0].Outputs[0]).Chunk(4).ToArray();
        var dot = Floats(multi.Cases[0].Outputs[1]);
        var argmax = multi.Cases[0].Outputs[2].Data.Select(d => d.GetInt64()).ToArray();
        for (var i = 0; i < pairs.Length; i++)
        {
            foreach (var result in new[] { pairResults.Local[i], pairResults.Remote[i] })
            {
                AssertClose(sum[i], result.Sum, multi.Tolerance);
                Assert.Equal(dot[i], result.Dot, (float)multi.Tolerance);
                Assert.Equal(argmax[i], result.ArgMax);
            }
        }

        var pictureResults = await BothAsync<Picture, PictureStatistics>(client, "images", pictures);
        var normalized = Floats(images.Cases[0].Outputs[0]).Chunk(48).ToArray();
        var means = Floats(images.Cases[0].Outputs[1]).Chunk(3).ToArray();
        for (var i = 0; i < pictures.Length; i++)
        {
            foreach (var result in new[] { pictureResults.Local[i], pictureResults.Remote[i] })
            {
                AssertClose(normalized[i], result.Normalized, images.Tolerance);
                AssertClose(means[i], result.ChannelMean, images.Tolerance);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Bindings))]
    public async Task Every_element_type_a_contract_holds_round_trips_exactly_through_the_remote_model(string binding, bool loopback)
    {
        var reference = TestModels.Reference("all_types").Cases[0];
        var x = reference.Inputs.ToDictionary(t => t.Name, t => t.Data.Chunk(3).ToArray());
        var y = reference.Outputs.ToDictionary(t => t.Name, t => t.Data.Chunk(3).ToArray());
        var inputs = Enumerable.Range(0, x["x_float"].Length).Select(i => new Typed(
            x["x_float"][i].Select(d => (float)d.GetDouble()).ToArray(),
            x["x_double"][i].Select(d => d.GetDouble()).ToArray(),
            x["x_float16"][i].Select(d => (Half)d.GetDouble()).ToArray(),
            x["x_int8"][i].Select(d => d.GetSByte()).ToArray(),
            x["x_int16"][i].Select(d => d.GetInt16()).ToArray(),
            x["x_int32"][i].Select(d => d.GetInt32()).ToArray(),
            x["x_int64"][i].Select(d => d.GetInt64()).ToArray(),
            x["x_uint8"][i].Select(d => d.GetByte()).ToArray(),
            x["x_uint16"][i].Select(d => d.GetUInt16()).ToArray(),
            x["x_uint32"][i].Select(d => d.GetUInt32()).ToArray(),
            x["x_uint64"][i].Select(d => d.GetUInt64()).ToArray(),
            x["x_bool"][i].Select(d => d.GetBoolean()).ToArray())).ToArray();
        await using var server = await OipServer.StartAsync(binding, loopback);
        using var client = await RemoteClient.StartAsync(services =>
        {
            services.AddModel<AllTypes>("all_types_remote").On(server);
            services.AddModel<AllTypes>("all_types_local").FromFile(TestModels.Path("all_types"));
        });

        var (local, remote) = await BothAsync<Typed, TypedResult>(client, "all_types", inputs);

        for (var i = 0; i < inputs.Length; i++)
        {
            foreach (var o in new[] { local[i], remote[i] })
            {
                Assert.Equal(y["y_float"][i].Select(d => (float)d.GetDouble()), o.Float);
                Assert.Equal(y["y_double"][i].Select(d => d.GetDouble()), o.Double);
                Assert.Equal(y["y_float16"][i].Select(d => (Half)d.GetDouble()), o.Float16);
                Assert.Equal(y["y_int8"][i].Select(d => d.GetSByte()), o.Int8);
                Assert.Equal(y["y_int16"][i].Select(d => d.GetInt16()), o.Int16);
                Assert.Equal(y["y_int32"][i].Select(d => d.GetInt32()), o.Int32);
                Assert.Equal(y["y_int64"][i].Select(d => d.GetInt64()), o.Int64);
                Assert.Equal(y["y_uint8"][i].Select(d => d.GetByte()), o.UInt8);
                Assert.Equal(y["y_uint16"][i].Select(d => d.GetUInt16()), o.UInt16);
                Assert.Equal(y["y_uint32"][i].Select(d => d.GetUInt32()), o.UInt32);
                Assert.Equal(y["y_uint64"][i].Select(d => d.GetUInt64()), o.UInt64);
                Assert.Equal(y["y_bool"][i].Select(d => d.GetBoolean()), o.Bool);
            }
        }
    }

    [Theory]
    [InlineData("json")]
    [InlineData("binary")]
    [InlineData("grpc")]
    public async Task Each_batch_goes_as_one_infer_request(string binding)
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = Floats(reference.Inputs[0]).Chunk(30).Select(f => new FraudFeatures(f)).ToArray();
        var expected = Floats(reference.Outputs[0]);
        await using var server = await OipServer.StartAsync(binding, loopback: false);
        var counter = new CountingHandler();
        // Batches of 8 that close only when full (the delay is far longer than queuing 64 calls takes): 64 calls, 8 requests.
        using var client = await RemoteClient.StartAsync(services => services.AddModel<Fraud>("fraud").On(server)
            .ConfigureBatching(b =>
            {
                b.MaxBatchSize = 8;
                b.MaxDelay = TimeSpan.FromSeconds(10);
            })
            .AddRemoteHttpClient().AddHttpMessageHandler(() => counter));
        var model = client.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>();

        var scores = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => model.PredictAsync(rows[i % rows.Length]).AsTask()));

        Assert.Equal(8, counter.Infers(server.Address));
        for (var i = 0; i < scores.Length; i++) Assert.Equal(expected[i % rows.Length], scores[i].Probability, 1e-5f);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("binary")]
    [InlineData("grpc")]
    public async Task Two_replicas_with_one_stopped_under_load_fail_no_call_and_health_says_which_is_down(string binding)
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = Floats(reference.Inputs[0]).Chunk(30).Select(f => new FraudFeatures(f)).ToArray();
        var expected = Floats(reference.Outputs[0]);
        await using var first = await OipServer.StartAsync(binding, loopback: true);
        await using var second = await OipServer.StartAsync(binding, loopback: true);
        var counter = new CountingHandler();
        using var client = await RemoteClient.StartAsync(services => services.AddModel<Fraud>("fraud").On(first, second).AddHealthCheck()
            .AddRemoteHttpClient().AddHttpMessageHandler(() => counter));
        var model = client.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>();
        var health = client.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        // 16 callers × at least 50 calls; the first replica stops once a quarter of them have their answers, and every caller
        // goes on calling until it has stopped, so calls come after the stop whatever the timing.
        const int Callers = 16, Calls = 50;
        var answered = 0;
        var stopped = new TaskCompletionSource();
        var failures = new List<Exception>();
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            for (var call = 0; call < Calls || !stopped.Task.IsCompleted; call++)
            {
                var row = (caller + call) % rows.Length;
                try
                {
                    var score = await model.PredictAsync(rows[row]);
                    Assert.Equal(expected[row], score.Probability, 1e-5f);
                }
                catch (Exception error)
                {
                    lock (failures) failures.Add(error);
                }

                if (Interlocked.Increment(ref answered) == Callers * Calls / 4)
                {
                    _ = first.DisposeAsync().AsTask().ContinueWith(t => stopped.TrySetResult(), TaskScheduler.Default);
                }
            }
        })));

        Assert.Empty(failures);
        Assert.True(answered >= Callers * Calls);
        Assert.True(counter.Infers(first.Address) > 0 && counter.Infers(second.Address) > 0, "Both replicas took batches before the stop.");

        var degraded = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains(first.Address.ToString(), degraded.Entries["inprocserve:fraud"].Description);

        await second.DisposeAsync();
        var down = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.Contains("no replica of the remote model is ready", down.Entries["inprocserve:fraud"].Description);
    }

    [Fact]
    public async Task A_contract_that_does_not_fit_the_remote_metadata_fails_start_with_one_message_listing_every_difference()
    {
        await using var server = await OipServer.StartAsync("json", loopback: false);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => RemoteClient.StartAsync(services =>
            services.AddModel<Wrong>().On(server).Configure(o => o.Remote!.ModelName = "fraud")));

        var message = error.Message;
        Assert.Contains("Model 'Wrong' (remote model 'fraud' over Rest at http://localhost/) does not fit the contract WrongFeatures → WrongScore", message);
        Assert.Contains("input 'features': the contract has float64[N,20]", message);
        Assert.Contains("the model float32[?,30]: the element type differs", message);
        Assert.Contains("input 'customer' (filled by Customer): the model has no such input", message);
        Assert.Contains("output 'label' (filled by Label): the model has no such output", message);
        Assert.Contains("inputs:  features: float32[?,30]", message);
    }

    [Fact]
    public async Task A_model_the_server_does_not_have_fails_start_with_the_servers_answer()
    {
        await using var server = await OipServer.StartAsync("json", loopback: false);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => RemoteClient.StartAsync(services =>
            services.AddModel<Fraud>("nowhere").On(server)));

        Assert.Contains("Model 'nowhere'", error.Message);
        Assert.Contains("GET http://localhost/v2/models/nowhere answered 404", error.Message);
    }

    [Fact]
    public async Task Bad_remote_configuration_is_named_at_start_in_one_message()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RemoteClient.StartAsync(
            services => services.AddModel<Fraud>("fraud"),
            new Dictionary<string, string?>
            {
                ["InProcServe:Models:fraud:Path"] = TestModels.Path("fraud"),
                ["InProcServe:Models:fraud:Remote:Urls:0"] = "ftp://cluster/",
                ["InProcServe:Models:fraud:Remote:Urls:1"] = "not an address",
                ["InProcServe:Models:fraud:Remote:Protocol"] = "Carrier",
                ["InProcServe:Models:fraud:Remote:Timeout"] = "-00:00:01",
                ["InProcServe:Models:fraud:Remote:Retries"] = "3",
            }));

        var message = error.Message;
        Assert.StartsWith("Model 'fraud': invalid options", message);
        Assert.Contains("InProcServe:Models:fraud:Remote:Urls:1 is 'not an address'; it must be an absolute address", message);
        Assert.Contains("InProcServe:Models:fraud:Remote:Protocol is 'Carrier'; it must be one of Rest, Grpc", message);
        Assert.Contains("InProcServe:Models:fraud:Remote:Retries is not a setting", message);
        Assert.Contains("Remote.Urls[0] is 'ftp://cluster/'; it must be an absolute http:// or https:// address", message);
        Assert.Contains("Remote.Timeout is -00:00:01; it must be positive", message);
        Assert.Contains("Remote is set and so is Path", message);
    }

    [Fact]
    public async Task A_remote_model_from_configuration_alone_answers()
    {
        await using var server = await OipServer.StartAsync("json", loopback: true);
        var counter = new CountingHandler();
        using var client = await RemoteClient.StartAsync(
            services => services.AddModel<Fraud>("scoring").AddRemoteHttpClient().AddHttpMessageHandler(() => counter),
            new Dictionary<string, string?>
            {
                ["InProcServe:Models:scoring:Remote:Url"] = server.Address.ToString(),
                ["InProcServe:Models:scoring:Remote:ModelName"] = "fraud",
                ["InProcServe:Models:scoring:Remote:Timeout"] = "00:00:10",
                ["InProcServe:Models:scoring:Remote:Headers:Authorization"] = "Bearer test",
            });
        var reference = TestModels.Reference("fraud").Cases[0];
        var features = Floats(reference.Inputs[0]).Chunk(30).First();

        var score = await client.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>().PredictAsync(new FraudFeatures(features));

        Assert.Equal(Floats(reference.Outputs[0])[0], score.Probability, 1e-5f);
        Assert.Equal(ModelState.Ready, client.Services.GetRequiredService<ModelCatalog>()["scoring"].State);
        Assert.Equal("Bearer test", counter.Authorization);

        // Untyped calls are not forwarded: the answer names the server to call instead (/v2 answers it 501).
        using var tensor = TensorValue.Create(features.ToArray(), [1, 30]);
        var untyped = await Assert.ThrowsAsync<NotSupportedException>(async () => await client.Services.GetRequiredService<ModelCatalog>()["scoring"].RunAsync([("features", tensor)]));
        Assert.StartsWith($"Model 'scoring' runs remotely (", untyped.Message);
        Assert.Contains(server.Address.ToString(), untyped.Message);
    }

    [Fact]
    public async Task A_model_whose_servers_are_all_unreachable_fails_start_naming_them()
    {
        Uri gone;
        await using (var server = await OipServer.StartAsync("json", loopback: true))
        {
            gone = server.Address;
        }

        var error = await Assert.ThrowsAnyAsync<Exception>(() => RemoteClient.StartAsync(services => services.AddModel<Fraud>("fraud").UseRemote(gone)));

        Assert.Contains("Model 'fraud' failed to load: its metadata could not be read (remote model 'fraud' over Rest at " + gone + ")", error.Message);
        Assert.Contains($"GET {gone}v2/models/fraud got no answer", error.Message);
    }

    /// <summary>Every input through the local model (direct) and the remote one (queued, all at once), in order.</summary>
    private static async Task<(TOutput[] Local, TOutput[] Remote)> BothAsync<TInput, TOutput>(IHost client, string model, TInput[] inputs)
    {
        var local = client.Services.GetRequiredKeyedService<IModel<TInput, TOutput>>(model + "_local");
        var remote = client.Services.GetRequiredKeyedService<IModel<TInput, TOutput>>(model + "_remote");
        var fromLocal = inputs.Select(i => local.Predict(i)).ToArray();
        var fromRemote = await Task.WhenAll(inputs.Select(i => remote.PredictAsync(i).AsTask()));
        return (fromLocal, fromRemote);
    }

    private static float[] Floats(ReferenceTensor tensor) => tensor.Data.Select(d => (float)d.GetDouble()).ToArray();

    private static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], (float)tolerance);
    }
}

/// <summary>Counts the infer requests each server was sent, answered or not.</summary>
internal sealed class CountingHandler : DelegatingHandler
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> infers = new();

    private int binaryAnswers;

    internal int Infers(Uri server) => infers.GetValueOrDefault(server.Authority);

    /// <summary>The Authorization header of the last request.</summary>
    internal string? Authorization { get; private set; }

    /// <summary>Answers that held binary tensors (an Inference-Header-Content-Length header).</summary>
    internal int BinaryAnswers => Volatile.Read(ref binaryAnswers);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri!.AbsolutePath.EndsWith("/infer", StringComparison.Ordinal) || request.RequestUri.AbsolutePath.EndsWith("/ModelInfer", StringComparison.Ordinal)) infers.AddOrUpdate(request.RequestUri.Authority, 1, (_, n) => n + 1);
        Authorization = request.Headers.Authorization?.ToString();
        var response = await base.SendAsync(request, cancellationToken);
        if (response.Headers.Contains("Inference-Header-Content-Length") || response.Content.Headers.Contains("Inference-Header-Content-Length")) Interlocked.Increment(ref binaryAnswers);
        return response;
    }
}

/// <summary>A sequence as an async stream, for the streaming call path.</summary>
internal static class AsyncSequence
{
    internal static async IAsyncEnumerable<T> Streamed<T>(this IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            await Task.Yield();
            yield return item;
        }
    }
}
