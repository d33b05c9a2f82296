using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.Tests.Cascade;

/// <summary>Cascades: the heavy model answers only what the light one is unsure of, in every call mode.</summary>
[Collection(HostingCollection.Name)]
public sealed class CascadeModelTests
{
    [Fact]
    public async Task Only_uncertain_requests_reach_the_heavy_model_in_every_mode()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>("light").AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        builder.Services.AddModel<FraudModel>("heavy").AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        builder.Services.AddCascade<Payment, Verdict>("screen", "light", "heavy", v => v.Probability is > 0.3f and < 0.7f);
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var cascade = host.Services.GetRequiredKeyedService<IModel<Payment, Verdict>>("screen");
        var payments = Enumerable.Range(0, 64).Select(i => new Payment(i * 3, i)).ToArray();
        var expected = FraudReference.Probabilities(payments);
        var uncertain = expected.Count(p => p is > 0.3f and < 0.7f);

        var direct = payments.Select(p => cascade.Predict(p)).ToArray();
        var bulk = new Verdict[payments.Length];
        cascade.Predict(payments, bulk);
        var streamed = await cascade.PredictManyAsync(payments.ToAsyncEnumerable()).ToListAsync();

        Assert.Equal("screen", cascade.Name);
        Assert.Equal(expected, direct.Select(v => v.Probability), (a, b) => Math.Abs(a - b) < 1e-5f);
        Assert.Equal(direct, bulk);
        Assert.Equal(direct, streamed);
        Assert.InRange(uncertain, 1, payments.Length - 1);
        Assert.Equal(3 * uncertain, metrics.Sum("inprocserve.cascade.escalations"));
        Assert.Equal(3 * payments.Length, metrics.Sum("inprocserve.requests", ("inprocserve.model.name", "light")));
        Assert.Equal(3 * uncertain, metrics.Sum("inprocserve.requests", ("inprocserve.model.name", "heavy")));
        await host.StopAsync();
    }

    [Fact]
    public void A_cascade_can_not_take_a_models_name_and_names_its_missing_models()
    {
        var services = new ServiceCollection();
        services.AddModel<PlainFraud>();
        services.AddCascade<Payment, Verdict>("screen", "light", "heavy", _ => true);
        using var provider = services.BuildServiceProvider();

        var taken = Assert.Throws<InvalidOperationException>(() => services.AddCascade<Payment, Verdict>("PlainFraud", "a", "b", _ => true));
        var missing = Assert.Throws<KeyNotFoundException>(() => provider.GetRequiredKeyedService<IModel<Payment, Verdict>>("screen"));

        Assert.Equal("The name 'PlainFraud' is already taken by the model PlainFraud: models and cascades share one set of names (their service keys); choose another.", taken.Message);
        Assert.StartsWith("No model named 'light' is registered (models: 'PlainFraud'): add services.AddModel<TDefinition>(\"light\")", missing.Message);
    }
}
