using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.Tests.Pipeline.Caching;

/// <summary>The response cache: hits skip the model, capacity bounds it, lookups are counted.</summary>
[Collection(HostingCollection.Name)]
public sealed class ResponseCacheMiddlewareTests
{
    [Fact]
    public async Task An_equal_request_is_answered_from_the_cache_and_the_least_recently_used_goes_first()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>().AddResponseCache(o => o.Capacity = 2).AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<Payment, Verdict>>();

        var first = await model.PredictAsync(new Payment(5, 1));          // miss
        var again = await model.PredictAsync(new Payment(5, 1));          // hit: records compare by value
        model.Predict(new Payment(6, 2));                                 // miss
        model.Predict(new Payment(7, 3));                                 // miss, evicts (5, 1)
        model.Predict(new Payment(5, 1));                                 // miss again

        Assert.Same(first, again);
        Assert.Equal(1, metrics.Sum("inprocserve.response_cache.lookups", ("inprocserve.model.name", "FraudModel"), ("inprocserve.result", "hit")));
        Assert.Equal(4, metrics.Sum("inprocserve.response_cache.lookups", ("inprocserve.model.name", "FraudModel"), ("inprocserve.result", "miss")));
        Assert.Equal(5, metrics.Sum("inprocserve.requests", ("inprocserve.model.name", "FraudModel")));
        // Only the first queued call reached the lane; the second was a hit.
        Assert.Single(metrics.Values("inprocserve.inference.duration"));
        await host.StopAsync();
    }

    [Fact]
    public void Invalid_options_are_named_when_the_cache_is_added()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddModel<PlainFraud>().AddResponseCache(o => o.Capacity = 0));

        Assert.StartsWith("Model 'PlainFraud': invalid response cache options: Capacity is 0; it must be 1 or more.", error.Message);
    }
}
