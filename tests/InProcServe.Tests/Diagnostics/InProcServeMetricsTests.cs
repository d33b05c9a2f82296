using System.Collections.Concurrent;
using System.Diagnostics;
using InProcServe.Tests.Contracts;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using FraudScore = InProcServe.Tests.Contracts.FraudScore;

namespace InProcServe.Tests.Diagnostics;

/// <summary>The InProcServe meter and activity source, read as an exporter would.</summary>
[Collection(HostingCollection.Name)]
public sealed class InProcServeMetricsTests
{
    [Fact]
    public async Task Calls_are_measured_by_mode_and_outcome_with_the_models_name_and_version()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>().ConfigureBatching(b => b.MaxDelay = TimeSpan.FromMilliseconds(5));
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "InProcServe",
            Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>();
        var features = Enumerable.Range(0, 16).Select(i => new FraudFeatures(PaymentFeatures.Features(new Payment(i, i)))).ToArray();

        model.Predict(features[0]);
        await Task.WhenAll(features.Select(f => model.PredictAsync(f).AsTask()));
        model.Predict(features, new FraudScore[features.Length]);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => model.PredictAsync(features[0], new CancellationToken(true)).AsTask());

        (string, object?) fraud = ("inprocserve.model.name", "PlainFraud");
        (string, object?) version = ("inprocserve.model.version", 3L);
        Assert.Equal(1, metrics.Sum("inprocserve.requests", fraud, version, ("inprocserve.call.mode", "direct"), ("inprocserve.outcome", "ok")));
        Assert.Equal(16, metrics.Sum("inprocserve.requests", fraud, version, ("inprocserve.call.mode", "queued"), ("inprocserve.outcome", "ok")));
        Assert.Equal(16, metrics.Sum("inprocserve.requests", fraud, version, ("inprocserve.call.mode", "bulk"), ("inprocserve.outcome", "ok")));
        Assert.Equal(1, metrics.Sum("inprocserve.requests", fraud, version, ("inprocserve.call.mode", "queued"), ("inprocserve.outcome", "canceled")));
        Assert.Equal(19, metrics.Values("inprocserve.request.duration", fraud).Count);
        Assert.All(metrics.Values("inprocserve.request.duration"), seconds => Assert.InRange(seconds, 0, 5));
        Assert.Equal(16, metrics.Values("inprocserve.queue.duration", fraud, version).Count);
        Assert.Equal(16, metrics.Sum("inprocserve.batch.size", fraud, version));
        Assert.Equal(metrics.Values("inprocserve.batch.size").Count, metrics.Values("inprocserve.inference.duration", fraud, version).Count);
        metrics.ObserveGauges();
        Assert.Equal([0.0], metrics.Values("inprocserve.queue.length", fraud));

        var calls = activities.Where(a => a.GetTagItem("inprocserve.model.name") is "PlainFraud").ToList();
        Assert.Equal(19, calls.Count);
        Assert.All(calls, a => Assert.Equal("predict PlainFraud", a.OperationName));
        Assert.Single(calls, a => a.Status == ActivityStatusCode.Error && a.GetTagItem("inprocserve.outcome") is "canceled");
        await host.StopAsync();
    }

    [Fact]
    public async Task A_call_that_started_before_durations_were_measured_is_counted_but_not_timed()
    {
        // Calls read the clock only when durations are measured: one that started unmeasured has no start time, and
        // must not report the time since the clock's zero once a listener comes.
        var builder = TestHost.Builder();
        builder.Services.ConfigureLane("slow", o => o.Workers = 1);
        builder.Services.AddModel<SlowModel>().UseLane("slow").ConfigureBatching(b => b.MaxBatchSize = 1);
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<SlowRow, SlowResult>>();
        var written = new ConcurrentQueue<(int Id, int Row)>();
        using var stop = new CancellationTokenSource();
        var unmeasured = model.PredictAsync(new SlowRow(0, 0.5f, 2_000_000, written), stop.Token).AsTask();
        while (written.IsEmpty) await Task.Delay(1);

        using var metrics = new MetricCollector(host.Services);
        var measured = model.PredictAsync(new SlowRow(1, 0.5f, 1)).AsTask();
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => unmeasured);
        await measured;

        Assert.Equal(1, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "canceled")));
        Assert.Equal(1, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "ok")));
        var durations = metrics.Values("inprocserve.request.duration");
        Assert.Single(durations);
        Assert.InRange(durations[0], 0, 60);
        await host.StopAsync();
    }

    [Fact]
    public async Task Rejected_calls_are_counted_when_the_queue_is_full()
    {
        var builder = TestHost.Builder();
        builder.Services.ConfigureLane("slow", o => o.Workers = 1);
        builder.Services.AddModel<SlowModel>().UseLane("slow").ConfigureBatching(b =>
        {
            b.MaxBatchSize = 1;
            b.QueueCapacity = 1;
            b.FullMode = QueueFullMode.Reject;
        });
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<SlowRow, SlowResult>>();
        var written = new ConcurrentQueue<(int Id, int Row)>();
        using var stop = new CancellationTokenSource();
        var busy = model.PredictAsync(new SlowRow(0, 0.5f, 2_000_000, written), stop.Token).AsTask();
        while (written.IsEmpty) await Task.Delay(1);
        var queued = model.PredictAsync(new SlowRow(1, 0.5f, 1)).AsTask();

        await Assert.ThrowsAsync<QueueFullException>(() => model.PredictAsync(new SlowRow(2, 0.5f, 1)).AsTask());
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy);
        await queued;

        Assert.Equal(1, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "rejected")));
        Assert.Equal(1, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "canceled")));
        Assert.Equal(1, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "ok")));
        await host.StopAsync();
    }
}
