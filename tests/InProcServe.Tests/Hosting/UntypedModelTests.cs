using System.Collections.Concurrent;
using System.Diagnostics;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace InProcServe.Tests.Hosting;

/// <summary>
/// Models served with no C# contract, from configuration alone or from a model repository: hosted models like the
/// typed ones (versions, reloads, health, metrics), called on tensors through <see cref="HostedModel.RunAsync"/>.
/// </summary>
[Collection(HostingCollection.Name)]
public sealed class UntypedModelTests
{
    [Fact]
    public async Task A_model_from_configuration_answers_every_reference_case_and_counts_its_calls()
    {
        var builder = TestHost.Builder(("InProcServe:Models:sum:Path", TestModels.Path("multi_io")));
        builder.Services.AddInProcServe();
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<ModelCatalog>()["sum"];

        var file = TestModels.Reference("multi_io");
        foreach (var reference in file.Cases)
        {
            await AssertAnswers(model, reference, file.Tolerance);
        }

        Assert.Equal(ModelState.Ready, model.State);
        Assert.Equal(typeof(RunOutputs), model.ResponseType);
        Assert.Equal(file.Cases.Count, metrics.Sum("inprocserve.requests", ("inprocserve.model.name", "sum"), ("inprocserve.outcome", "ok")));
        await host.StopAsync();
    }

    [Fact]
    public async Task Untyped_calls_waiting_together_are_joined_up_to_MaxBatchSize_and_each_gets_its_own_rows()
    {
        // A delay far longer than the test: only a full batch of 8 rows can start a run.
        using var host = TestHost.Builder(
            ("InProcServe:Models:sum:Path", TestModels.Path("multi_io")),
            ("InProcServe:Models:sum:Batching:MaxBatchSize", "8"),
            ("InProcServe:Models:sum:Batching:MaxDelay", "00:00:10")).Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<ModelCatalog>()["sum"];

        var calls = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            float[] a = [i, i + 0.5f, -i, 2 * i];
            float[] b = [100, 200 + i, 300, -i];
            using var left = TensorValue.Create(a, [1, 4]);
            using var right = TensorValue.Create(b, [1, 4]);
            var (outputs, _) = await model.RunAsync([("a", left), ("b", right)], ["sum"]);
            using (outputs)
            {
                Assert.Equal(a.Zip(b, (x, y) => x + y), outputs["sum"].GetSpan<float>().ToArray());
            }
        })).ToArray();
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([8.0], metrics.Values("inprocserve.batch.size", ("inprocserve.model.name", "sum")));
        Assert.Equal(8, metrics.Sum("inprocserve.requests", ("inprocserve.model.name", "sum"), ("inprocserve.outcome", "ok")));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_lone_untyped_call_runs_once_the_models_MaxDelay_is_over()
    {
        using var host = TestHost.Builder(
            ("InProcServe:Models:sum:Path", TestModels.Path("multi_io")),
            ("InProcServe:Models:sum:Batching:MaxDelay", "00:00:00.100")).Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<ModelCatalog>()["sum"];
        var file = TestModels.Reference("multi_io");
        var started = Stopwatch.StartNew();

        await AssertAnswers(model, file.Cases[0], file.Tolerance);

        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(99), $"ran after {started.Elapsed.TotalMilliseconds} ms, before its 100 ms delay");
        await host.StopAsync();
    }

    [Fact]
    public async Task A_repository_serves_every_model_that_loads_and_reports_the_one_that_fails_as_not_ready()
    {
        using var repository = new TemporaryFolder();
        TestModels.AddToRepository(repository.Path, "sum", 1, TestModels.Path("multi_io"));
        TestModels.AddToRepository(repository.Path, "fraud", 3, TestModels.Path("fraud"));
        var broken = Path.Combine(repository.Path, "broken", "1");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, VersionFolder.ModelFileName), "not an ONNX model");
        var builder = TestHost.Builder(("InProcServe:ModelRepository", repository.Path));
        builder.Services.AddHealthChecks().AddUntypedModelsCheck();
        using var host = builder.Build();

        await host.StartAsync();

        var catalog = host.Services.GetRequiredService<ModelCatalog>();
        Assert.Equal(["broken", "fraud", "sum"], catalog.Models.Select(m => m.Name).Order());
        Assert.Equal(ModelState.Failed, catalog["broken"].State);
        Assert.True(catalog["broken"].IsOptional);
        var file = TestModels.Reference("multi_io");
        await AssertAnswers(catalog["sum"], file.Cases[0], file.Tolerance);
        Assert.Equal(3, catalog["fraud"].Version);
        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var entry = health.Entries["inprocserve:untyped"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.StartsWith("1 of 3 models from configuration don't serve ('broken': load failed: ", entry.Description);
        Assert.StartsWith("load failed: ", (string)entry.Data["broken"]);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_strict_repository_fails_the_start_naming_the_model_that_did_not_load()
    {
        using var repository = new TemporaryFolder();
        TestModels.AddToRepository(repository.Path, "sum", 1, TestModels.Path("multi_io"));
        Directory.CreateDirectory(Path.Combine(repository.Path, "broken", "1"));
        File.WriteAllText(Path.Combine(repository.Path, "broken", "1", VersionFolder.ModelFileName), "not an ONNX model");
        using var host = TestHost.Builder(("InProcServe:ModelRepository", repository.Path), ("InProcServe:ModelRepositoryStrict", "true")).Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.StartsWith("Model 'broken' failed to load: ", error.Message);
    }

    [Fact]
    public async Task A_watched_repository_loads_new_models_and_versions_and_unloads_removed_models()
    {
        using var repository = new TemporaryFolder();
        TestModels.AddToRepository(repository.Path, "sum", 1, TestModels.Path("multi_io"));
        var builder = TestHost.Builder(("InProcServe:ModelRepository", repository.Path), ("InProcServe:ModelRepositoryWatch", "true"));
        using var host = builder.Build();
        await host.StartAsync();
        var catalog = host.Services.GetRequiredService<ModelCatalog>();
        var sum = catalog["sum"];

        TestModels.AddToRepository(repository.Path, "fraud", 3, TestModels.Path("fraud"));
        await Poll.UntilAsync(() => catalog.TryGetModel("fraud", out var model) && model.State == ModelState.Ready, TimeSpan.FromSeconds(60), 20);
        TestModels.AddToRepository(repository.Path, "sum", 2, TestModels.Path("multi_io"));
        await Poll.UntilAsync(() => sum.Versions.SequenceEqual([2L, 1L]), TimeSpan.FromSeconds(60), 20);
        Directory.Delete(Path.Combine(repository.Path, "fraud"), recursive: true);
        await Poll.UntilAsync(() => !catalog.TryGetModel("fraud", out _), TimeSpan.FromSeconds(60), 20);

        var file = TestModels.Reference("multi_io");
        var answer = await AssertAnswers(sum, file.Cases[0], file.Tolerance);
        Assert.Equal(2, answer);
        Assert.Equal(1, (await AssertAnswers(sum, file.Cases[0], file.Tolerance, version: 1)));
        await host.StopAsync();
    }

    [Fact]
    public async Task Untyped_calls_under_load_all_succeed_through_20_reloads()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "sum.onnx");
        File.Copy(TestModels.Path("multi_io"), path);
        using var host = TestHost.Builder(("InProcServe:Models:sum:Path", path)).Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<ModelCatalog>()["sum"];
        var file = TestModels.Reference("multi_io");
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<Exception>();
        var calls = 0;

        var callers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await AssertAnswers(model, file.Cases[i % file.Cases.Count], file.Tolerance);
                    Interlocked.Increment(ref calls);
                }
                catch (Exception error)
                {
                    failures.Enqueue(error);
                }
            }
        })).ToArray();
        for (var reload = 0; reload < 20; reload++)
        {
            // Calls answered between reloads: each swap happens under load, with calls on the version that leaves.
            var before = Volatile.Read(ref calls);
            await Poll.UntilAsync(() => Volatile.Read(ref calls) >= before + 8 || !failures.IsEmpty, TimeSpan.FromSeconds(60), 20);
            await model.ReloadAsync();
        }

        await stop.CancelAsync();
        await Task.WhenAll(callers);

        Assert.Empty(failures);
        Assert.True(calls >= 160, $"{calls} calls");
        Assert.Equal(21, model.History.Count(e => e.Kind is ModelEventKind.Loaded or ModelEventKind.Reloaded));
        await host.StopAsync();
    }

    [Fact]
    public async Task Mistakes_in_untyped_models_configuration_are_named_at_start_in_one_message()
    {
        using var host = TestHost.Builder(
            ("InProcServe:Models:typo:Pth", TestModels.Path("multi_io")),
            ("InProcServe:Models:sum:Path", TestModels.Path("multi_io")),
            ("InProcServe:Models:sum:Batching:MaxBatchSise", "8"),
            // Known settings only and no source: a model this app doesn't add, left alone.
            ("InProcServe:Models:elsewhere:Batching:MaxBatchSize", "8")).Build();

        var error = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync());

        Assert.StartsWith("2 models failed to load:", error.Message);
        Assert.Contains("InProcServe:Models:typo:Pth is not a setting", error.Message);
        Assert.Contains("no model source", error.Message);
        Assert.Contains("InProcServe:Models:sum:Batching:MaxBatchSise is not a setting", error.Message);
        Assert.DoesNotContain("elsewhere", error.Message);
    }

    [Fact]
    public async Task A_model_file_that_names_no_version_is_version_1()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "unversioned.onnx");
        File.WriteAllBytes(path, OnnxFile.WithoutModelVersion(File.ReadAllBytes(TestModels.Path("multi_io"))));
        using var session = ModelSession.Load(path);
        Assert.Equal(0, session.Metadata.Version);
        using var host = TestHost.Builder(("InProcServe:Models:sum:Path", path)).Build();

        await host.StartAsync();

        var model = host.Services.GetRequiredService<ModelCatalog>()["sum"];
        Assert.Equal(1, model.Version);
        Assert.Equal([1L], model.Versions);
        await host.StopAsync();
    }

    /// <summary>Runs <paramref name="reference"/> through the model and checks every output; returns the version that answered.</summary>
    private static async Task<long> AssertAnswers(HostedModel model, ReferenceCase reference, double tolerance, long? version = null)
    {
        var inputs = reference.Inputs.Select(i => new NamedTensor(i.Name, i.ToTensor())).ToArray();
        try
        {
            var (outputs, served) = await model.RunAsync(inputs, version: version);
            using (outputs)
            {
                foreach (var expected in reference.Outputs) expected.AssertMatches(outputs[expected.Name], tolerance);
            }

            return served;
        }
        finally
        {
            foreach (var input in inputs) input.Value.Dispose();
        }
    }
}
