using System.Collections.Concurrent;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace InProcServe.Tests.Hosting;

/// <summary>A model's health check: not ready before start, healthy when warmed, degraded when its queue fills.</summary>
[Collection(HostingCollection.Name)]
public sealed class ModelHealthCheckTests
{
    [Fact]
    public async Task Health_follows_the_model_from_not_loaded_to_ready_to_a_filling_queue()
    {
        var builder = TestHost.Builder();
        builder.Services.AddHealthChecks();
        builder.Services.ConfigureLane("slow", o => o.Workers = 1);
        builder.Services.AddModel<SlowModel>().UseLane("slow").ConfigureBatching(b =>
        {
            b.MaxBatchSize = 1;
            b.QueueCapacity = 5;
        }).AddHealthCheck(["ready", "models"]);
        using var host = builder.Build();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var before = await health.CheckHealthAsync();
        await host.StartAsync();
        var ready = await health.CheckHealthAsync();

        var model = host.Services.GetRequiredService<IModel<SlowRow, SlowResult>>();
        var written = new ConcurrentQueue<(int Id, int Row)>();
        // A run long enough to outlast the check, however loaded the machine; canceling it terminates it.
        using var stop = new CancellationTokenSource();
        var busy = model.PredictAsync(new SlowRow(0, 0.5f, 2_000_000, written), stop.Token).AsTask();
        while (written.IsEmpty) await Task.Delay(1);
        var queued = Enumerable.Range(1, 4).Select(i => model.PredictAsync(new SlowRow(i, 0.5f, 1)).AsTask()).ToArray();
        var filling = await health.CheckHealthAsync();
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy);
        await Task.WhenAll(queued);

        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal("Model 'SlowModel' is not loaded yet.", before.Entries["inprocserve:SlowModel"].Description);
        Assert.Equal(HealthStatus.Healthy, ready.Status);
        Assert.Equal(["ready", "models"], ready.Entries["inprocserve:SlowModel"].Tags);
        Assert.Equal(HealthStatus.Degraded, filling.Status);
        Assert.Equal("Model 'SlowModel': 4 of 5 queue places taken.", filling.Entries["inprocserve:SlowModel"].Description);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_failed_model_reports_its_cause_in_the_description_and_data_without_an_exception_to_log_per_probe()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "fraud.onnx");
        File.WriteAllBytes(path, new byte[100]);
        var builder = TestHost.Builder();
        builder.Services.AddHealthChecks();
        builder.Services.AddModel<UnplacedFraud>().FromFile(path).AsOptional().AddHealthCheck();
        using var host = builder.Build();
        await host.StartAsync();

        var entry = (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["inprocserve:UnplacedFraud"];

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.StartsWith("Model 'UnplacedFraud' failed to load: ", entry.Description);
        Assert.StartsWith("load failed: Model 'UnplacedFraud': loading ", (string)entry.Data["cause"]);
        Assert.Null(entry.Exception);
        await host.StopAsync();
    }
}
