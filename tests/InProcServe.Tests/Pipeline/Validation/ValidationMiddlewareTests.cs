using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.Tests.Pipeline.Validation;

/// <summary>Request validation: refused requests never reach the model, and the message says why.</summary>
[Collection(HostingCollection.Name)]
public sealed class ValidationMiddlewareTests
{
    [Fact]
    public async Task An_invalid_request_fails_with_the_validators_message_and_valid_ones_pass()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>()
            .AddValidation<Payment>(p => p.Amount < 0 ? $"Amount is {p.Amount}; it must be 0 or more." : null)
            .AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<Payment, Verdict>>();

        var direct = Assert.Throws<ArgumentException>(() => model.Predict(new Payment(-5, 1)));
        var queued = await Assert.ThrowsAsync<ArgumentException>(() => model.PredictAsync(new Payment(-5, 1)).AsTask());
        model.Predict(new Payment(5, 1));

        Assert.StartsWith("Model 'FraudModel': invalid request: Amount is -5; it must be 0 or more.", direct.Message);
        Assert.Equal(direct.Message, queued.Message);
        Assert.Equal(2, metrics.Sum("inprocserve.requests", ("inprocserve.outcome", "error")));
        Assert.Empty(metrics.Values("inprocserve.queue.duration"));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_validator_of_another_request_type_fails_the_load()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>().AddValidation<string>(_ => null).AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Equal("Model 'FraudModel' failed to load: its validation takes String, but the model's requests are Payment: validate Payment.", error.Message);
    }
}
