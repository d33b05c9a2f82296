using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.Tests.Pipeline.Timeout;

/// <summary>The per-call timeout: a call that takes too long fails as timed out and stops its run.</summary>
[Collection(HostingCollection.Name)]
public sealed class TimeoutMiddlewareTests
{
    [Fact]
    public async Task A_call_past_its_timeout_fails_with_TimeoutException_in_both_modes()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<SlowModel>().AddTimeout(TimeSpan.FromMilliseconds(50));
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<SlowRow, SlowResult>>();

        var queued = await Assert.ThrowsAsync<TimeoutException>(() => model.PredictAsync(new SlowRow(0, 0.5f, 1_000_000)).AsTask());
        var direct = Assert.Throws<TimeoutException>(() => model.Predict(new SlowRow(0, 0.5f, 1_000_000)));
        var quick = await model.PredictAsync(new SlowRow(0, 0.5f, 1));

        Assert.Equal("Model 'SlowModel': the call passed its timeout of 50 ms.", queued.Message);
        Assert.Equal(queued.Message, direct.Message);
        Assert.Equal((float)Math.Tanh(0.5), quick.Y, 1e-5f);
        Assert.Equal(2, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "timeout")));
        await host.StopAsync();
    }

    [Fact]
    public async Task The_callers_own_cancellation_stays_a_cancellation()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<SlowModel>().AddTimeout(TimeSpan.FromSeconds(30));
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<SlowRow, SlowResult>>();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => model.PredictAsync(new SlowRow(0, 0.5f, 1_000_000), cancellation.Token).AsTask());
        await host.StopAsync();
    }
}
