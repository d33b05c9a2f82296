using System.Diagnostics;
using InProcServe.Tests.Contracts;
using InProcServe.Tests.Sessions;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;
using FraudScore = InProcServe.Tests.Contracts.FraudScore;

namespace InProcServe.Tests.Lifecycle;

/// <summary>Versions, hot reload and canaries of a hosted model.</summary>
[Collection(nameof(NativeMemoryTests))]
public sealed class ModelLifecycleTests(ITestOutputHelper output)
{
    private static readonly Payment[] Payments = Enumerable.Range(0, 64).Select(i => new Payment(i * 7.5f, i)).ToArray();
    private static readonly float[] Expected = FraudReference.Probabilities(Payments);

    /// <summary>Every row of fraud.onnx's numpy reference (models/fraud.reference.json), with the probability numpy computed for it.</summary>
    private static readonly (FraudFeatures Features, float Probability)[] ReferenceRows = TestModels.Reference("fraud").Cases
        .SelectMany(c => c.Inputs.Single(t => t.Name == "features").Data.Select(d => (float)d.GetDouble()).Chunk(30)
            .Zip(c.Outputs.Single(t => t.Name == "probability").Data.Select(d => (float)d.GetDouble())))
        .Select(row => (new FraudFeatures(row.First), row.Second))
        .ToArray();

    private static readonly float ReferenceTolerance = (float)TestModels.Reference("fraud").Tolerance;

    [Fact]
    public async Task A_version_folder_serves_the_version_the_policy_picks_and_the_handle_reports_it()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        AddVersion(folder, 2);
        AddVersion(folder, 5);
        var builder = TestHost.Builder(("InProcServe:Models:FraudModel:Folder", folder.Path), ("InProcServe:Models:FraudModel:Versions", "latest 2"));
        builder.Services.AddModel<FraudModel>().AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IVersionedModel<Payment, Verdict>>();
        var hosted = host.Services.GetRequiredService<ModelCatalog>()["FraudModel"];

        var direct = model.PredictWithVersion(Payments[3]);
        var queued = await model.PredictWithVersionAsync(Payments[4]);

        Assert.Equal([5L, 2L], hosted.Versions);
        Assert.Equal(5, hosted.Version);
        Assert.Equal(5, direct.Version);
        Assert.Equal(Expected[3], direct.Response.Probability, 1e-5f);
        Assert.Equal(5, queued.Version);
        Assert.Equal(Expected[4], queued.Response.Probability, 1e-5f);
        await host.StopAsync();
    }

    [Fact]
    public void Version_settings_are_validated_with_every_bad_value_in_one_message()
    {
        var builder = TestHost.Builder(("InProcServe:Models:FraudModel:Folder", "/somewhere"), ("InProcServe:Models:FraudModel:Path", "/somewhere/model.onnx"), ("InProcServe:Models:FraudModel:Versions", "newest"));
        builder.Services.AddModel<FraudModel>().Configure(o => o.WatchQuietPeriod = TimeSpan.Zero);
        using var host = builder.Build();

        var error = Assert.ThrowsAny<Exception>(() => host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<ModelOptions>>().Get("FraudModel"));

        Assert.Contains("InProcServe:Models:FraudModel:Versions is 'newest'; it must be \"latest\", \"latest N\" (N from 1) or version numbers such as \"1,3\".", error.Message);
        Assert.Contains("Path and Folder are both set; a model has one source: set one.", error.Message);
        Assert.Contains("WatchQuietPeriod is 00:00:00; it must be positive (default: 2 seconds).", error.Message);
    }

    [Fact]
    public async Task An_explicit_reload_serves_a_new_version_and_releases_the_old()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        var (host, model, hosted) = await Start(folder);
        using (host)
        {
            Assert.Equal(1, model.PredictWithVersion(Payments[0]).Version);
            AddVersion(folder, 2);

            await hosted.ReloadAsync();

            Assert.Equal([2L], hosted.Versions);
            var answer = await model.PredictWithVersionAsync(Payments[1]);
            Assert.Equal(2, answer.Version);
            Assert.Equal(Expected[1], answer.Response.Probability, 1e-5f);
            Assert.Null(hosted.ReloadError);
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_new_version_folder_is_picked_up_by_the_watch()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        var (host, model, hosted) = await Start(folder, watch: true);
        using (host)
        {
            AddVersion(folder, 2);
            var deadline = Stopwatch.StartNew();
            while (hosted.Version != 2 && deadline.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);

            Assert.Equal(2, hosted.Version);
            Assert.Equal(2, model.PredictWithVersion(Payments[2]).Version);
            await host.StopAsync();
        }
    }

    [Theory]
    [InlineData("corrupt")]
    [InlineData("mismatched")]
    public async Task A_new_version_that_fails_leaves_the_old_one_serving_reports_degraded_and_is_counted(string kind)
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        var version2 = Directory.CreateDirectory(Path.Combine(folder.Path, "2")).FullName;
        if (kind == "corrupt") File.WriteAllBytes(Path.Combine(version2, VersionFolder.ModelFileName), RandomBytes(4096));
        else File.Copy(TestModels.Path("multi_io"), Path.Combine(version2, VersionFolder.ModelFileName));
        // The bad version appears after start.
        Directory.Move(version2, version2 + "-later");
        var (host, model, hosted) = await Start(folder, health: true);
        using (host)
        {
            using var metrics = new MetricCollector(host.Services);
            Directory.Move(version2 + "-later", version2);

            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => hosted.ReloadAsync());
            var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            var answer = await model.PredictWithVersionAsync(Payments[5]);

            Assert.StartsWith("Model 'FraudModel': the new version failed to load, so version 1 goes on serving: ", error.Message);
            if (kind == "mismatched") Assert.Contains("features", error.Message);
            Assert.Equal([1L], hosted.Versions);
            Assert.Equal(1, answer.Version);
            Assert.Equal(Expected[5], answer.Response.Probability, 1e-5f);
            Assert.Same(error.InnerException, hosted.ReloadError);
            Assert.Equal(HealthStatus.Degraded, health.Status);
            Assert.Contains("the last reload failed, so version 1 goes on serving", health.Entries["inprocserve:FraudModel"].Description);
            Assert.Equal(1, metrics.Sum("inprocserve.model.reloads", ("inprocserve.result", "error")));
            Assert.Equal(1, metrics.Sum("inprocserve.model.loads", ("inprocserve.result", "error")));

            // A later good version clears it.
            Directory.Delete(version2, recursive: true);
            AddVersion(folder, 3);
            await hosted.ReloadAsync();
            var healed = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Healthy, healed.Status);
            Assert.Equal(3, hosted.Version);
            Assert.Equal(1, metrics.Sum("inprocserve.model.reloads", ("inprocserve.result", "ok")));
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Repeated_reloads_under_concurrent_load_fail_no_call()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        var (host, model, hosted) = await Start(folder);
        using (host)
        {
            using var stop = new CancellationTokenSource();
            var calls = 0L;
            var versionsSeen = new System.Collections.Concurrent.ConcurrentDictionary<long, bool>();
            var callers = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
            {
                var i = c;
                while (!stop.IsCancellationRequested)
                {
                    var index = i++ % Payments.Length;
                    var answer = c % 2 == 0 ? await model.PredictWithVersionAsync(Payments[index]) : model.PredictWithVersion(Payments[index]);
                    Assert.Equal(Expected[index], answer.Response.Probability, 1e-5f);
                    versionsSeen[answer.Version] = true;
                    Interlocked.Increment(ref calls);
                }
            })).ToArray();

            for (var version = 2; version <= 21; version++)
            {
                AddVersion(folder, version);
                await hosted.ReloadAsync();
                Directory.Delete(Path.Combine(folder.Path, (version - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), recursive: true);
                await Task.Delay(10);
            }

            await stop.CancelAsync();
            await Task.WhenAll(callers);

            Assert.Equal([21L], hosted.Versions);
            Assert.True(versionsSeen.Count >= 2, $"calls saw versions {string.Join(", ", versionsSeen.Keys.Order())}");
            output.WriteLine($"reloads=20 calls={calls} failed=0");
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_canary_takes_its_share_sticky_keys_hold_and_promote_and_roll_back_take_one_call_each()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        AddVersion(folder, 2);
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>().FromFolder(folder.Path, VersionPolicy.LatestN(2)).AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>()
            .RouteCanaryBy<Payment>(p => p.Seed < 0 ? null : p.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IVersionedModel<Payment, Verdict>>();
        var hosted = host.Services.GetRequiredService<ModelCatalog>()["FraudModel"];

        await hosted.SetCanaryAsync(1, 20);
        const int Calls = 5_000;
        var toCanary = 0;
        for (var i = 0; i < Calls; i++)
        {
            if (model.PredictWithVersion(new Payment(10, -1)).Version == 1) toCanary++;
        }

        // Binomial(5000, 0.2): σ ≈ 28.3; ±5σ.
        var sigma = Math.Sqrt(Calls * 0.2 * 0.8);
        Assert.InRange(toCanary, Calls * 0.2 - 5 * sigma, Calls * 0.2 + 5 * sigma);
        Assert.Equal(toCanary, metrics.Sum("inprocserve.requests", ("inprocserve.model.version", 1L)));
        Assert.Equal(Calls - toCanary, metrics.Sum("inprocserve.requests", ("inprocserve.model.version", 2L)));

        var keyed = Enumerable.Range(0, 200).Select(k => model.PredictWithVersion(new Payment(10, k)).Version).ToArray();
        for (var round = 0; round < 3; round++)
        {
            for (var k = 0; k < 200; k++) Assert.Equal(keyed[k], (await model.PredictWithVersionAsync(new Payment(10, k))).Version);
        }

        Assert.InRange(keyed.Count(v => v == 1), 10, 80);

        await hosted.RollBackCanaryAsync();
        Assert.Null(hosted.CanaryVersion);
        Assert.Equal([2L], hosted.Versions);
        Assert.All(Enumerable.Range(0, 200), k => Assert.Equal(2, model.PredictWithVersion(new Payment(10, k)).Version));

        await hosted.SetCanaryAsync(1, 50);
        Assert.Equal([2L, 1L], hosted.Versions);
        await hosted.PromoteCanaryAsync();
        Assert.Equal([1L], hosted.Versions);
        Assert.Equal(1, hosted.Version);
        Assert.All(Enumerable.Range(0, 200), k => Assert.Equal(1, model.PredictWithVersion(new Payment(10, k)).Version));
        await Assert.ThrowsAsync<InvalidOperationException>(() => hosted.PromoteCanaryAsync());
        await Assert.ThrowsAsync<ArgumentException>(() => hosted.SetCanaryAsync(1, 10));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_canary_from_configuration_takes_its_share_from_the_start()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        AddVersion(folder, 2);
        var builder = TestHost.Builder(
            ("InProcServe:Models:UnplacedFraud:Folder", folder.Path),
            ("InProcServe:Models:UnplacedFraud:Versions", "latest 2"),
            ("InProcServe:Models:UnplacedFraud:Canary:Version", "1"),
            ("InProcServe:Models:UnplacedFraud:Canary:Percent", "10"));
        builder.Services.AddModel<UnplacedFraud>();
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IVersionedModel<FraudFeatures, FraudScore>>();
        var hosted = host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"];

        const int Calls = 5_000;
        var toCanary = 0;
        for (var i = 0; i < Calls; i++)
        {
            var (features, probability) = ReferenceRows[i % ReferenceRows.Length];
            var answer = model.PredictWithVersion(features);
            Assert.Equal(probability, answer.Response.Probability, ReferenceTolerance);
            if (answer.Version == 1) toCanary++;
            else Assert.Equal(2, answer.Version);
        }

        Assert.Equal([2L, 1L], hosted.Versions);
        Assert.Equal(2, hosted.Version);
        Assert.Equal(1, hosted.CanaryVersion);
        Assert.Equal(10, hosted.CanaryPercent);
        // Binomial(5000, 0.1): σ ≈ 21.2; ±5σ.
        var sigma = Math.Sqrt(Calls * 0.1 * 0.9);
        Assert.InRange(toCanary, Calls * 0.1 - 5 * sigma, Calls * 0.1 + 5 * sigma);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_canary_set_on_the_builder_starts_with_the_model_and_configuration_overrides_its_share()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        AddVersion(folder, 2);
        AddVersion(folder, 3);
        var builder = TestHost.Builder(("InProcServe:Models:UnplacedFraud:Canary:Percent", "100"));
        builder.Services.AddModel<UnplacedFraud>().FromFolder(folder.Path, VersionPolicy.Specific(1, 3)).WithCanary(1, 5);
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IVersionedModel<FraudFeatures, FraudScore>>();
        var hosted = host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"];

        // At 100% every call is the canary's: no statistics needed.
        var answers = ReferenceRows.Select(r => model.PredictWithVersion(r.Features)).ToArray();

        Assert.Equal([3L, 1L], hosted.Versions);
        Assert.Equal(1, hosted.CanaryVersion);
        Assert.Equal(100, hosted.CanaryPercent);
        Assert.All(answers, a => Assert.Equal(1, a.Version));
        Assert.Equal(ReferenceRows.Select(r => r.Probability), answers.Select(a => a.Response.Probability), (e, a) => Math.Abs(e - a) <= ReferenceTolerance);
        await hosted.RollBackCanaryAsync();
        Assert.Equal(3, model.PredictWithVersion(ReferenceRows[0].Features).Version);
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Services.AddModel<UnplacedFraud>().WithCanary(1, 100.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Services.AddModel<UnplacedFraud>().WithCanary(0, 10));
        await host.StopAsync();
    }

    [Theory]
    [InlineData("latest 2", "4", "150", "Canary.Version is 4, but the policy 'latest 2' loads 2, 1: set one of those below the primary 2, or a policy (Versions) that loads 4 as well.", "Canary.Percent is 150; it must be from 0 to 100.")]
    [InlineData("latest 2", "2", "-1", "Canary.Version is 2, which is the primary: the highest of the versions the policy 'latest 2' loads (2, 1); a canary is another version the policy loads.", "Canary.Percent is -1; it must be from 0 to 100.")]
    [InlineData("latest", "1", "ten", "Canary.Version is 1, but the policy 'latest' loads 2: set one of those below the primary 2, or a policy (Versions) that loads 1 as well.", "InProcServe:Models:UnplacedFraud:Canary:Percent is 'ten'; it must be a number from 0 to 100.")]
    [InlineData("1,2", "one", "10", "InProcServe:Models:UnplacedFraud:Canary:Version is 'one'; it must be a version number such as 2.", "Canary.Percent is 10, but Canary.Version is not set; set the version that takes the share.")]
    [InlineData(null, "1", "10", "Canary.Version is 1, but the model comes from Path; a canary needs a version Folder whose policy (Versions) loads it besides the primary.", null)]
    public async Task Bad_canary_settings_fail_start_with_one_message_naming_each_key_and_value(string? versions, string version, string percent, string versionError, string? percentError)
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        AddVersion(folder, 2);
        // No versions: the model comes from a file, which has no canary to take.
        (string, string?)[] source = versions is null
            ? [("InProcServe:Models:UnplacedFraud:Path", TestModels.Path("fraud"))]
            : [("InProcServe:Models:UnplacedFraud:Folder", folder.Path), ("InProcServe:Models:UnplacedFraud:Versions", versions)];
        var builder = TestHost.Builder([.. source, ("InProcServe:Models:UnplacedFraud:Canary:Version", version), ("InProcServe:Models:UnplacedFraud:Canary:Percent", percent)]);
        builder.Services.AddModel<UnplacedFraud>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        var lines = error.Message.Split(Environment.NewLine);
        Assert.Equal("Model 'UnplacedFraud': invalid options (code, or configuration section InProcServe:Models:UnplacedFraud):", lines[0]);
        Assert.Contains("  - " + versionError, lines);
        if (percentError is not null) Assert.Contains("  - " + percentError, lines);
        Assert.Equal(ModelState.NotLoaded, host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"].State);
    }

    [Fact]
    public async Task A_canary_version_that_left_the_folder_after_validation_fails_the_load_naming_it()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        AddVersion(folder, 2);
        var builder = TestHost.Builder();
        builder.Services.AddModel<UnplacedFraud>().FromFolder(folder.Path, VersionPolicy.LatestN(2)).WithCanary(1, 10);
        using var host = builder.Build();
        // Validated (and kept) now, while version 1 is there; it leaves before the model loads.
        host.Services.GetRequiredService<IOptionsMonitor<ModelOptions>>().Get("UnplacedFraud");
        Directory.Delete(Path.Combine(folder.Path, "1"), recursive: true);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Equal(
            "Model 'UnplacedFraud' failed to load: its canary (Canary.Version) is version 1, but the policy 'latest 2' loaded 2, with 2 as the primary: " +
            "set a version the policy loads below the primary, or a policy (Versions) that loads it as well.",
            error.Message);
    }

    [Fact]
    public async Task An_optional_model_whose_file_was_corrupt_is_revived_by_a_reload_once_the_file_is_fixed()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "fraud.onnx");
        File.WriteAllBytes(path, RandomBytes(4096));
        var (host, model, hosted) = await StartOptional(path, watch: false);
        using (host)
        {
            using var metrics = new MetricCollector(host.Services);
            var health = host.Services.GetRequiredService<HealthCheckService>();

            var direct = Assert.Throws<InvalidOperationException>(() => model.Predict(ReferenceRows[0].Features));
            var queued = await Assert.ThrowsAsync<InvalidOperationException>(async () => await model.PredictAsync(ReferenceRows[0].Features));
            var unhealthy = await health.CheckHealthAsync();
            // Still corrupt: the reload fails as the start did, and the model stays failed with the new cause.
            var again = await Assert.ThrowsAsync<InvalidOperationException>(() => hosted.ReloadAsync());

            Assert.StartsWith($"Model 'UnplacedFraud' failed to load: Model 'UnplacedFraud': loading '{path}' failed: ", direct.Message);
            Assert.Equal(direct.Message, queued.Message);
            Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
            Assert.StartsWith("Model 'UnplacedFraud' failed to load: ", unhealthy.Entries["inprocserve:UnplacedFraud"].Description);
            Assert.StartsWith($"Model 'UnplacedFraud' failed to load: Model 'UnplacedFraud': loading '{path}' failed: ", again.Message);
            Assert.Equal(ModelState.Failed, hosted.State);
            Assert.Same(again.InnerException, hosted.LoadError);
            Assert.Equal(1, metrics.Sum("inprocserve.model.loads", ("inprocserve.result", "error")));

            File.Copy(TestModels.Path("fraud"), path, overwrite: true);
            await hosted.ReloadAsync();

            await AssertServesTheReference(model);
            var healthy = await health.CheckHealthAsync();
            Assert.Equal(ModelState.Ready, hosted.State);
            Assert.Null(hosted.LoadError);
            Assert.Null(hosted.ReloadError);
            Assert.Equal(HealthStatus.Healthy, healthy.Status);
            Assert.Equal(1, metrics.Sum("inprocserve.model.loads", ("inprocserve.result", "ok")));
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task An_optional_model_whose_file_was_corrupt_is_revived_by_the_watch_once_the_file_is_fixed()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "fraud.onnx");
        File.WriteAllBytes(path, RandomBytes(4096));
        var (host, model, hosted) = await StartOptional(path, watch: true);
        using (host)
        {
            Assert.Equal(ModelState.Failed, hosted.State);

            File.Copy(TestModels.Path("fraud"), path, overwrite: true);
            var deadline = Stopwatch.StartNew();
            while (hosted.State != ModelState.Ready && deadline.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(50);

            Assert.Equal(ModelState.Ready, hosted.State);
            await AssertServesTheReference(model);
            var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Healthy, health.Status);
            await host.StopAsync();
        }
    }

    /// <summary>Runs in a child process: 50 reloads of the fraud model, with the resident memory before and after.</summary>
    [Fact]
    public void Fifty_reloads_do_not_grow_resident_memory()
    {
        var result = ChildProcess.Run<ModelLifecycleTests>(nameof(MeasureReloads));
        var growth = long.Parse(result["growth"], System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"RSS growth over 50 reloads: {growth / (1024.0 * 1024):0.0} MiB (before {result["before"]}, after {result["after"]})");
        Assert.True(growth < 30L << 20, $"resident memory grew by {growth >> 20} MiB over 50 reloads");
    }

    internal static void MeasureReloads(string[] args)
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1);
        var (host, model, hosted) = Start(folder).GetAwaiter().GetResult();
        using (host)
        {
            void Cycle(int from, int count)
            {
                for (var version = from; version < from + count; version++)
                {
                    AddVersion(folder, version);
                    hosted.ReloadAsync().GetAwaiter().GetResult();
                    Directory.Delete(Path.Combine(folder.Path, (version - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), recursive: true);
                    for (var i = 0; i < 20; i++) model.PredictAsync(Payments[i]).AsTask().GetAwaiter().GetResult();
                }
            }

            // Ten reloads first, so arenas and caches reach their steady size.
            Cycle(2, 10);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = Resident();
            Cycle(12, 50);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var after = Resident();
            Console.WriteLine($"before={before}");
            Console.WriteLine($"after={after}");
            Console.WriteLine($"growth={after - before}");
            host.StopAsync().GetAwaiter().GetResult();
        }
    }

    private static long Resident()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }

    private static async Task<(IHost Host, IVersionedModel<Payment, Verdict> Model, HostedModel Hosted)> Start(TemporaryFolder folder, bool watch = false, bool health = false)
    {
        var builder = TestHost.Builder();
        if (health) builder.Services.AddHealthChecks();
        var model = builder.Services.AddModel<FraudModel>().FromFolder(folder.Path).AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        if (watch) model.WatchForChanges(TimeSpan.FromMilliseconds(200));
        if (health) model.AddHealthCheck();
        var host = builder.Build();
        await host.StartAsync();
        return (host, host.Services.GetRequiredService<IVersionedModel<Payment, Verdict>>(), host.Services.GetRequiredService<ModelCatalog>()["FraudModel"]);
    }

    /// <summary>Starts a host with the optional model UnplacedFraud read from <paramref name="path"/>, and its health check.</summary>
    private static async Task<(IHost Host, IModel<FraudFeatures, FraudScore> Model, HostedModel Hosted)> StartOptional(string path, bool watch)
    {
        var builder = TestHost.Builder();
        builder.Services.AddHealthChecks();
        var model = builder.Services.AddModel<UnplacedFraud>().FromFile(path).AsOptional().AddHealthCheck();
        if (watch) model.WatchForChanges(TimeSpan.FromMilliseconds(200));
        var host = builder.Build();
        await host.StartAsync();
        return (host, host.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>(), host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"]);
    }

    /// <summary>Asserts that direct, queued and bulk calls give numpy's probabilities for every reference row.</summary>
    private static async Task AssertServesTheReference(IModel<FraudFeatures, FraudScore> model)
    {
        var bulk = new FraudScore[ReferenceRows.Length];
        model.Predict(ReferenceRows.Select(r => r.Features).ToArray(), bulk);
        for (var i = 0; i < ReferenceRows.Length; i++)
        {
            var (features, probability) = ReferenceRows[i];
            Assert.Equal(probability, model.Predict(features).Probability, ReferenceTolerance);
            Assert.Equal(probability, (await model.PredictAsync(features)).Probability, ReferenceTolerance);
            Assert.Equal(probability, bulk[i].Probability, ReferenceTolerance);
        }
    }

    private static void AddVersion(TemporaryFolder folder, int version)
    {
        var target = Directory.CreateDirectory(Path.Combine(folder.Path, version.ToString(System.Globalization.CultureInfo.InvariantCulture))).FullName;
        File.Copy(TestModels.Path("fraud"), Path.Combine(target, VersionFolder.ModelFileName));
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(7).NextBytes(bytes);
        return bytes;
    }
}
