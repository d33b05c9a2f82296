using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using InProcServe.Tests.Contracts;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using FraudScore = InProcServe.Tests.Contracts.FraudScore;

namespace InProcServe.Tests.Lifecycle;

/// <summary>
/// Shadow traffic: a version that gets copies of calls and answers none. The versions are fraud.onnx and
/// fraud_retrained.onnx, the same signature with other weights, so every answer says by its value which one computed it.
/// </summary>
[Collection(HostingCollection.Name)]
public sealed class ModelShadowTests
{
    private const int ShadowCallFailed = 15;
    private const int ShadowComparisonFailed = 16;

    /// <summary>The rows of the fraud references (the same features in both files), with each model's probability from numpy.</summary>
    private static readonly (FraudFeatures Features, float Fraud, float Retrained)[] Rows = ReferenceRows();

    private static readonly float Tolerance = (float)TestModels.Reference("fraud").Tolerance;

    [Fact]
    public async Task A_shadow_gets_copies_of_its_share_while_callers_get_the_primarys_answers_and_the_comparison_sees_both()
    {
        using var folder = Folder((1, "fraud"), (2, "fraud_retrained"));
        var comparisons = new ConcurrentQueue<ShadowComparison<FraudFeatures, FraudScore>>();
        using var started = await Start(m => m.FromFolder(folder.Path, VersionPolicy.Specific(1)).CompareShadow<FraudFeatures, FraudScore>(SameFlag, comparisons.Enqueue));
        var (host, metrics, _, model, hosted) = started;

        await hosted.SetShadowAsync(2, 25);
        Assert.Equal([2L, 1L], hosted.Versions);
        Assert.Equal(1, hosted.Version);
        Assert.Equal(2, hosted.ShadowVersion);
        Assert.Equal(25, hosted.ShadowPercent);

        const int Calls = 2_000;
        for (var i = 0; i < Calls; i++)
        {
            var row = Rows[i % Rows.Length];
            var answer = i % 2 == 0 ? model.PredictWithVersion(row.Features) : await model.PredictWithVersionAsync(row.Features);
            Assert.Equal(1, answer.Version);
            Assert.Equal(row.Fraud, answer.Response.Probability, Tolerance);
        }

        // Stopping waits for the copies in flight: every count is final now.
        await hosted.StopShadowAsync();

        var copies = comparisons.Count;
        // Binomial(2000, 0.25): σ ≈ 19.4; ±5σ.
        var sigma = Math.Sqrt(Calls * 0.25 * 0.75);
        Assert.InRange(copies, Calls * 0.25 - 5 * sigma, Calls * 0.25 + 5 * sigma);
        Assert.Equal(copies, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "ok"), ("inprocserve.model.version", 2L)));
        Assert.Equal(copies, metrics.Sum("inprocserve.shadow.requests"));
        foreach (var comparison in comparisons)
        {
            var row = Rows.Single(r => ReferenceEquals(r.Features.Features, comparison.Request.Features));
            Assert.Equal(row.Fraud, comparison.Response.Probability, Tolerance);
            Assert.Equal(row.Retrained, comparison.ShadowResponse.Probability, Tolerance);
            Assert.Equal(1, comparison.Version);
            Assert.Equal(2, comparison.ShadowVersion);
            Assert.Equal(row.Fraud >= 0.5f == row.Retrained >= 0.5f, comparison.Agreed);
        }

        var disagreements = comparisons.Count(c => c.Agreed == false);
        Assert.True(disagreements > 0, "two of the reference rows are flagged by one version only");
        Assert.Equal(disagreements, metrics.Sum("inprocserve.shadow.disagreements", ("inprocserve.model.version", 2L)));
        // Callers' metrics count callers' calls, all answered by the primary; copies are not calls.
        Assert.Equal(Calls, metrics.Sum("inprocserve.requests", ("inprocserve.model.version", 1L)));
        Assert.Equal(0, metrics.Sum("inprocserve.requests", ("inprocserve.model.version", 2L)));

        // Stopped: the shadow's version is released and no call is copied any more.
        Assert.Null(hosted.ShadowVersion);
        Assert.Equal(0, hosted.ShadowPercent);
        Assert.Equal([1L], hosted.Versions);
        for (var i = 0; i < 200; i++)
        {
            var row = Rows[i % Rows.Length];
            var answer = i % 2 == 0 ? model.PredictWithVersion(row.Features) : await model.PredictWithVersionAsync(row.Features);
            Assert.Equal(1, answer.Version);
        }

        // Stopping the model waits for anything still in flight.
        await host.StopAsync();
        await host.Services.GetRequiredService<ModelCatalog>().DisposeAsync();
        Assert.Equal(copies, comparisons.Count);
        Assert.Equal(copies, metrics.Sum("inprocserve.shadow.requests"));
    }

    [Fact]
    public async Task A_shadow_set_on_the_builder_starts_with_the_model_and_configuration_overrides_its_share()
    {
        using var folder = Folder((1, "fraud_retrained"), (2, "fraud"));
        var comparisons = new ConcurrentQueue<ShadowComparison<FraudFeatures, FraudScore>>();
        using var started = await Start(
            m => m.FromFolder(folder.Path, VersionPolicy.LatestN(2)).WithShadow(1, 5).CompareShadow<FraudFeatures, FraudScore>(onCompared: comparisons.Enqueue),
            configuration: ("InProcServe:Models:UnplacedFraud:Shadow:Percent", "100"));
        var (host, _, logs, model, hosted) = started;

        Assert.Equal([2L, 1L], hosted.Versions);
        Assert.Equal(2, hosted.Version);
        Assert.Equal(1, hosted.ShadowVersion);
        Assert.Equal(100, hosted.ShadowPercent);
        Assert.Null(hosted.CanaryVersion);
        // At 100% every call is copied: no statistics needed.
        foreach (var row in Rows)
        {
            var direct = model.PredictWithVersion(row.Features);
            var queued = await model.PredictWithVersionAsync(row.Features);
            Assert.Equal(2, direct.Version);
            Assert.Equal(2, queued.Version);
            Assert.Equal(row.Fraud, direct.Response.Probability, Tolerance);
            Assert.Equal(row.Fraud, queued.Response.Probability, Tolerance);
        }

        await hosted.StopShadowAsync();

        Assert.Equal(2 * Rows.Length, comparisons.Count);
        Assert.All(comparisons, c =>
        {
            var row = Rows.Single(r => ReferenceEquals(r.Features.Features, c.Request.Features));
            Assert.Equal(row.Retrained, c.ShadowResponse.Probability, Tolerance);
            Assert.Equal(row.Fraud, c.Response.Probability, Tolerance);
            Assert.Null(c.Agreed);
        });
        Assert.Equal("Model 'UnplacedFraud': version 1 gets a copy of 100% of calls as shadow; version 2 answers them.", Assert.Single(logs.Events(12)).Message);
        Assert.Equal("Model 'UnplacedFraud': shadow version 1 stopped; its copies in flight finished.", Assert.Single(logs.Events(13)).Message);
        Assert.Equal([2L], hosted.Versions);
        var services = new ServiceCollection();
        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddModel<UnplacedFraud>().WithShadow(1, 100.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddModel<UnplacedFraud>().WithShadow(0, 10));
        Assert.Throws<ArgumentException>(() => services.AddModel<UnplacedFraud>().CompareShadow<FraudFeatures, FraudScore>());
        await host.StopAsync();
    }

    [Theory]
    [InlineData("latest 2", "4", "150", null, "Shadow.Version is 4, but the policy 'latest 2' loads 2, 1: set one of those below the primary 2, or a policy (Versions) that loads 4 as well.", "Shadow.Percent is 150; it must be from 0 to 100.")]
    [InlineData("latest 2", "2", "ten", null, "Shadow.Version is 2, which is the primary: the highest of the versions the policy 'latest 2' loads (2, 1); a shadow is another version the policy loads.", "InProcServe:Models:UnplacedFraud:Shadow:Percent is 'ten'; it must be a number from 0 to 100.")]
    [InlineData("latest 2", "1", "10", "1", "Shadow.Version is 1, which is also Canary.Version: the canary answers calls and the shadow gets copies of them, so they must be two versions.", null)]
    [InlineData("latest 2", null, "10", null, "Shadow.Percent is 10, but Shadow.Version is not set; set the version that takes the share.", null)]
    [InlineData(null, "1", "10", null, "Shadow.Version is 1, but the model comes from Path; a shadow needs a version Folder whose policy (Versions) loads it besides the primary.", null)]
    public async Task Bad_shadow_settings_fail_start_with_one_message_naming_each_key_and_value(string? versions, string? version, string percent, string? canary, string error, string? secondError)
    {
        using var folder = Folder((1, "fraud"), (2, "fraud"));
        // No versions: the model comes from a file, which has no other version to copy calls to.
        (string, string?)[] source = versions is null
            ? [("InProcServe:Models:UnplacedFraud:Path", TestModels.Path("fraud"))]
            : [("InProcServe:Models:UnplacedFraud:Folder", folder.Path), ("InProcServe:Models:UnplacedFraud:Versions", versions)];
        (string, string?)[] shadow = version is null
            ? [("InProcServe:Models:UnplacedFraud:Shadow:Percent", percent)]
            : [("InProcServe:Models:UnplacedFraud:Shadow:Version", version), ("InProcServe:Models:UnplacedFraud:Shadow:Percent", percent)];
        (string, string?)[] canarySettings = canary is null
            ? []
            : [("InProcServe:Models:UnplacedFraud:Canary:Version", canary), ("InProcServe:Models:UnplacedFraud:Canary:Percent", "10")];
        var builder = TestHost.Builder([.. source, .. shadow, .. canarySettings]);
        builder.Services.AddModel<UnplacedFraud>();
        using var host = builder.Build();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        var lines = failure.Message.Split(Environment.NewLine);
        Assert.Equal("Model 'UnplacedFraud': invalid options (code, or configuration section InProcServe:Models:UnplacedFraud):", lines[0]);
        Assert.Contains("  - " + error, lines);
        if (secondError is not null) Assert.Contains("  - " + secondError, lines);
    }

    [Fact]
    public async Task A_shadow_is_never_a_version_that_answers_calls_and_a_reload_that_drops_its_version_ends_it()
    {
        using var folder = Folder((1, "fraud"), (2, "fraud_retrained"), (3, "fraud"));
        using var started = await Start(m => m.FromFolder(folder.Path, VersionPolicy.Specific(1)));
        var (host, _, logs, model, hosted) = started;

        var primary = await Assert.ThrowsAsync<ArgumentException>(() => hosted.SetShadowAsync(1, 10));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => hosted.SetShadowAsync(2, 150));
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => hosted.SetShadowAsync(7, 10));
        await hosted.SetCanaryAsync(3, 10);
        var canary = await Assert.ThrowsAsync<ArgumentException>(() => hosted.SetShadowAsync(3, 10));
        await hosted.SetShadowAsync(2, 10);
        var shadow = await Assert.ThrowsAsync<ArgumentException>(() => hosted.SetCanaryAsync(2, 10));

        Assert.StartsWith("Model 'UnplacedFraud': version 1 is the primary, which answers calls; a shadow is another version, which gets copies of them. Loaded: 1.", primary.Message);
        Assert.Equal($"Model 'UnplacedFraud' has no version 7 to send shadow copies to: loaded are 1, and '{folder.Path}' holds no 7/model.onnx.", missing.Message);
        Assert.StartsWith("Model 'UnplacedFraud': version 3 is the canary, which answers calls;", canary.Message);
        Assert.StartsWith("Model 'UnplacedFraud': version 2 is the shadow, which gets copies of calls; stop the shadow (StopShadowAsync) before it takes calls as the canary.", shadow.Message);
        Assert.Equal([3L, 2L, 1L], hosted.Versions);
        Assert.Equal(2, hosted.ShadowVersion);
        Assert.Equal(3, hosted.CanaryVersion);

        // Promoting the canary keeps the shadow; the reload then loads only what the policy picks, as it drops a
        // canary the policy doesn't load.
        await hosted.PromoteCanaryAsync();
        Assert.Equal(3, hosted.Version);
        Assert.Equal(2, hosted.ShadowVersion);
        await hosted.ReloadAsync();

        Assert.Null(hosted.ShadowVersion);
        Assert.Equal([1L], hosted.Versions);
        Assert.Equal("Model 'UnplacedFraud': the reload left shadow version 2 out of its versions, or made it the primary (version 1); copies to it stopped.", Assert.Single(logs.Events(14)).Message);
        Assert.Equal(1, model.PredictWithVersion(Rows[0].Features).Version);
        // Stopping with no shadow does nothing.
        await hosted.StopShadowAsync();
        Assert.Empty(logs.Events(13));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_shadow_that_cannot_keep_up_drops_copies_and_never_holds_up_a_caller()
    {
        const int Capacity = 4;
        const int Calls = 50;
        using var folder = Folder((1, "fraud"), (2, "fraud_retrained"));
        var comparisons = new ConcurrentQueue<ShadowComparison<FraudFeatures, FraudScore>>();
        using var started = await Start(
            m => m.FromFolder(folder.Path, VersionPolicy.Specific(1)).ConfigureBatching(b => b.QueueCapacity = Capacity).CompareShadow<FraudFeatures, FraudScore>(onCompared: comparisons.Enqueue),
            blockable: true);
        var (host, metrics, _, model, hosted) = started;
        await hosted.SetShadowAsync(2, 100);
        await using var blocker = await LaneBlocker.StartAsync(host);

        // Direct calls run on the callers' threads: the blocked lane holds up only the copies. A caller that waited for
        // its copy would wait as long as the lane is blocked: the limit turns that into a failure instead of a hang.
        var calling = Task.Run(() =>
        {
            for (var i = 0; i < Calls; i++)
            {
                var row = Rows[i % Rows.Length];
                var answer = model.PredictWithVersion(row.Features);
                Assert.Equal(1, answer.Version);
                Assert.Equal(row.Fraud, answer.Response.Probability, Tolerance);
            }
        });
        await calling.WaitAsync(TimeSpan.FromSeconds(60));

        // The first copies fill the shadow's places; every later one is dropped on the caller's thread, at once.
        Assert.Equal(Calls - Capacity, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "dropped"), ("inprocserve.model.version", 2L)));
        Assert.Equal(0, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "ok")));
        Assert.Equal(0, hosted.QueueLength);

        await blocker.ReleaseAsync();
        await hosted.StopShadowAsync();

        Assert.Equal(Capacity, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "ok")));
        Assert.Equal(Calls - Capacity, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "dropped")));
        Assert.Equal(0, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "error")));
        Assert.Equal(Capacity, comparisons.Count);
        Assert.All(comparisons, c => Assert.Equal(Rows.Single(r => ReferenceEquals(r.Features.Features, c.Request.Features)).Retrained, c.ShadowResponse.Probability, Tolerance));
        Assert.Equal(Calls, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "ok"), ("inprocserve.model.name", "UnplacedFraud")));
        await host.StopAsync();
    }

    [Fact]
    public async Task Copies_that_fail_are_logged_and_counted_and_never_reach_a_caller()
    {
        const int Calls = 20;
        using var folder = Folder((1, "fraud"), (2, "fraud_retrained"));
        // Queued requests time out after 50 ms: the copies, queued behind a blocked worker, all do.
        using var started = await Start(m => m.FromFolder(folder.Path, VersionPolicy.Specific(1)).ConfigureBatching(b => b.DefaultTimeout = TimeSpan.FromMilliseconds(50)), blockable: true);
        var (host, metrics, logs, model, hosted) = started;
        await hosted.SetShadowAsync(2, 100);
        await using var blocker = await LaneBlocker.StartAsync(host);

        for (var i = 0; i < Calls; i++)
        {
            var row = Rows[i % Rows.Length];
            var answer = model.PredictWithVersion(row.Features);
            Assert.Equal(1, answer.Version);
            Assert.Equal(row.Fraud, answer.Response.Probability, Tolerance);
        }

        await hosted.StopShadowAsync();
        await blocker.ReleaseAsync();

        Assert.Equal(Calls, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "error"), ("inprocserve.model.version", 2L)));
        Assert.Equal(Calls, metrics.Sum("inprocserve.shadow.requests"));
        var failures = logs.Events(ShadowCallFailed);
        Assert.Equal(Calls, failures.Count);
        Assert.All(failures, f =>
        {
            Assert.Equal(LogLevel.Warning, f.Level);
            Assert.Equal("Model 'UnplacedFraud': a copy of a call sent to shadow version 2 failed; the caller had its answer from version 1.", f.Message);
            Assert.IsType<TimeoutException>(f.Exception);
        });
        Assert.Equal(Calls, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "ok"), ("inprocserve.model.name", "UnplacedFraud")));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_comparison_that_throws_is_logged_and_counted_and_never_reaches_a_caller()
    {
        using var folder = Folder((1, "fraud"), (2, "fraud_retrained"));
        using var started = await Start(m => m.FromFolder(folder.Path, VersionPolicy.LatestN(2)).CompareShadow<FraudFeatures, FraudScore>(SameFlag, _ => throw new InvalidDataException("the comparison broke")));
        var (host, metrics, logs, model, hosted) = started;
        await hosted.SetShadowAsync(1, 100);

        foreach (var row in Rows)
        {
            Assert.Equal(row.Retrained, model.Predict(row.Features).Probability, Tolerance);
            Assert.Equal(row.Retrained, (await model.PredictAsync(row.Features)).Probability, Tolerance);
        }

        await hosted.StopShadowAsync();

        Assert.Equal(2 * Rows.Length, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "error"), ("inprocserve.model.version", 1L)));
        var failures = logs.Events(ShadowComparisonFailed);
        Assert.Equal(2 * Rows.Length, failures.Count);
        Assert.All(failures, f =>
        {
            Assert.Equal("Model 'UnplacedFraud': comparing version 2's response with shadow version 1's threw (CompareShadow).", f.Message);
            Assert.Equal("the comparison broke", Assert.IsType<InvalidDataException>(f.Exception).Message);
        });
        // The comparer ran before the callback threw: its disagreements are counted.
        var expected = 2 * Rows.Count(r => r.Fraud >= 0.5f != r.Retrained >= 0.5f);
        Assert.Equal(expected, metrics.Sum("inprocserve.shadow.disagreements"));
        Assert.Empty(logs.Events(ShadowCallFailed));
        await host.StopAsync();
    }

    [Fact]
    public async Task Stopping_the_model_with_copies_queued_drops_them_and_completes()
    {
        const int Calls = 30;
        using var folder = Folder((1, "fraud"), (2, "fraud_retrained"));
        var comparisons = new ConcurrentQueue<ShadowComparison<FraudFeatures, FraudScore>>();
        using var started = await Start(m => m.FromFolder(folder.Path, VersionPolicy.Specific(1)).CompareShadow<FraudFeatures, FraudScore>(onCompared: comparisons.Enqueue), blockable: true);
        var (host, metrics, logs, model, hosted) = started;
        await hosted.SetShadowAsync(2, 100);
        await using var blocker = await LaneBlocker.StartAsync(host);
        for (var i = 0; i < Calls; i++) Assert.Equal(1, model.PredictWithVersion(Rows[i % Rows.Length].Features).Version);

        // The fraud model stops while its copies wait behind the blocked worker: they are dropped, not run.
        await hosted.DisposeAsync();

        Assert.Equal(Calls, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "dropped"), ("inprocserve.model.version", 2L)));
        Assert.Equal(Calls, metrics.Sum("inprocserve.shadow.requests"));
        Assert.Empty(comparisons);
        Assert.Empty(logs.AtLeast(LogLevel.Warning));
        Assert.Null(hosted.ShadowVersion);
        Assert.Throws<ObjectDisposedException>(() => model.Predict(Rows[0].Features));
        await blocker.ReleaseAsync();
        await host.StopAsync();
    }

    [Fact]
    public async Task Reloads_and_shadow_changes_under_concurrent_load_fail_no_call_and_no_copy()
    {
        using var folder = Folder((1, "fraud_retrained"), (2, "fraud"));
        var compared = 0L;
        var wrong = new ConcurrentQueue<string>();
        using var started = await Start(m => m.FromFolder(folder.Path, VersionPolicy.LatestN(2)).WithShadow(1, 50).CompareShadow<FraudFeatures, FraudScore>(onCompared: c =>
        {
            var row = Rows.Single(r => ReferenceEquals(r.Features.Features, c.Request.Features));
            if (Math.Abs(c.ShadowResponse.Probability - row.Retrained) > Tolerance || c.ShadowVersion != 1) wrong.Enqueue($"shadow {c.ShadowVersion} gave {c.ShadowResponse.Probability}, not {row.Retrained}");
            Interlocked.Increment(ref compared);
        }));
        var (host, metrics, _, model, hosted) = started;

        using var stop = new CancellationTokenSource();
        var calls = 0L;
        var callers = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            var i = c;
            while (!stop.IsCancellationRequested)
            {
                var row = Rows[i++ % Rows.Length];
                var answer = c % 2 == 0 ? await model.PredictWithVersionAsync(row.Features) : model.PredictWithVersion(row.Features);
                Assert.Equal(2, answer.Version);
                Assert.Equal(row.Fraud, answer.Response.Probability, Tolerance);
                Interlocked.Increment(ref calls);
            }
        })).ToArray();

        for (var round = 0; round < 10; round++)
        {
            await hosted.ReloadAsync();
            Assert.Equal(1, hosted.ShadowVersion);
            await Task.Delay(10);
            await hosted.StopShadowAsync();
            Assert.Equal([2L], hosted.Versions);
            await hosted.SetShadowAsync(1, 50);
            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await Task.WhenAll(callers);
        await hosted.StopShadowAsync();

        Assert.Empty(wrong);
        Assert.True(compared > 0, $"{calls} calls, none copied");
        Assert.Equal(compared, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "ok")));
        Assert.Equal(0, metrics.Sum("inprocserve.shadow.requests", ("inprocserve.outcome", "error")));
        Assert.Equal(calls, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "ok"), ("inprocserve.model.name", "UnplacedFraud")));
        await host.StopAsync();
    }

    private static bool SameFlag(FraudScore primary, FraudScore shadow) => primary.Probability >= 0.5f == shadow.Probability >= 0.5f;

    /// <summary>
    /// Starts a host with UnplacedFraud, set up by <paramref name="configure"/>, with its metrics and logs collected.
    /// <paramref name="blockable"/> puts it on a lane of one worker beside the slow model, which <see cref="LaneBlocker"/> can hold.
    /// </summary>
    private static async Task<Started> Start(Action<IModelBuilder> configure, bool blockable = false, params (string Key, string? Value)[] configuration)
    {
        var logs = new LogCollector();
        var builder = TestHost.Builder(configuration);
        builder.Logging.AddProvider(logs);
        var model = builder.Services.AddModel<UnplacedFraud>();
        if (blockable)
        {
            builder.Services.ConfigureLane(LaneBlocker.Lane, o => o.Workers = 1);
            model.UseLane(LaneBlocker.Lane);
            builder.Services.AddModel<SlowModel>().UseLane(LaneBlocker.Lane);
        }

        configure(model);
        var host = builder.Build();
        var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        return new Started(host, metrics, logs, host.Services.GetRequiredService<IVersionedModel<FraudFeatures, FraudScore>>(), host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"]);
    }

    /// <summary>A started host and what the tests read from it; disposing it stops the host.</summary>
    private sealed record Started(IHost Host, MetricCollector Metrics, LogCollector Logs, IVersionedModel<FraudFeatures, FraudScore> Model, HostedModel Hosted) : IDisposable
    {
        public void Dispose()
        {
            Metrics.Dispose();
            Host.Dispose();
        }
    }

    /// <summary>
    /// Occupies the only worker of <see cref="Lane"/> with an endless batch of the slow model until released. Disposing
    /// it releases the worker too, so a test that fails on the way fails instead of waiting for the batch.
    /// </summary>
    private sealed class LaneBlocker : IAsyncDisposable
    {
        internal const string Lane = "blockable";

        private readonly CancellationTokenSource unblock = new();
        private Task<SlowResult>? blocked;

        internal static async Task<LaneBlocker> StartAsync(IHost host)
        {
            var blocker = new LaneBlocker();
            var written = new ConcurrentQueue<(int Id, int Row)>();
            var slow = host.Services.GetRequiredService<IModel<SlowRow, SlowResult>>();
            blocker.blocked = slow.PredictAsync(new SlowRow(-1, 0.5f, 100_000_000, written), blocker.unblock.Token).AsTask();
            var waited = Stopwatch.StartNew();
            while (written.IsEmpty)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the blocking batch never started");
                await Task.Delay(1);
            }

            return blocker;
        }

        /// <summary>Cancels the batch and waits until it stopped.</summary>
        internal async Task ReleaseAsync()
        {
            await unblock.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked!);
        }

        public async ValueTask DisposeAsync()
        {
            if (!unblock.IsCancellationRequested) await ReleaseAsync();
            unblock.Dispose();
        }
    }

    /// <summary>A version folder holding <paramref name="versions"/>: each number with the test model it copies.</summary>
    private static TemporaryFolder Folder(params (int Version, string Model)[] versions)
    {
        var folder = new TemporaryFolder();
        foreach (var (version, name) in versions)
        {
            var target = Directory.CreateDirectory(Path.Combine(folder.Path, version.ToString(CultureInfo.InvariantCulture))).FullName;
            File.Copy(TestModels.Path(name), Path.Combine(target, VersionFolder.ModelFileName));
        }

        return folder;
    }

    private static (FraudFeatures, float, float)[] ReferenceRows()
    {
        static IEnumerable<(float[] Features, float Probability)> Read(string model) => TestModels.Reference(model).Cases
            .SelectMany(c => c.Inputs.Single(t => t.Name == "features").Data.Select(d => (float)d.GetDouble()).Chunk(30)
                .Zip(c.Outputs.Single(t => t.Name == "probability").Data.Select(d => (float)d.GetDouble())));

        return Read("fraud").Zip(Read("fraud_retrained"), (fraud, retrained) =>
        {
            Assert.Equal(fraud.Features, retrained.Features);
            return (new FraudFeatures(fraud.Features), fraud.Probability, retrained.Probability);
        }).ToArray();
    }
}
