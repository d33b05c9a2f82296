using InProcServe.Tests.Contracts;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using FraudScore = InProcServe.Tests.Contracts.FraudScore;

namespace InProcServe.Tests.Hosting;

/// <summary>AddModel: registration, typed handles (default and keyed), the three call paths, several models, missing registrations.</summary>
[Collection(HostingCollection.Name)]
public sealed class ModelHostingTests
{
    [Fact]
    public async Task A_host_resolves_two_models_and_scores_through_their_handlers_and_a_cascade()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>().AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        builder.Services.AddModel<FraudModel>("fraud-async").AddPreProcessor<AsyncPaymentFeatures>().AddPostProcessor<Threshold>();
        builder.Services.AddModel<PlainFraud>();
        builder.Services.AddCascade<Payment, Verdict>("screen", light: "FraudModel", heavy: "fraud-async", escalate: v => v.Probability is > 0.2f and < 0.8f);
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();

        var fraud = host.Services.GetRequiredService<IModel<Payment, Verdict>>();
        var fraudAsync = host.Services.GetRequiredKeyedService<IModel<Payment, Verdict>>("fraud-async");
        var plain = host.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>();
        var cascade = host.Services.GetRequiredKeyedService<IModel<Payment, Verdict>>("screen");
        var payments = Enumerable.Range(0, 100).Select(i => new Payment(i * 7.5f, i)).ToArray();
        var expected = FraudReference.Probabilities(payments);

        Assert.Equal("FraudModel", fraud.Name);
        Assert.Equal("fraud-async", fraudAsync.Name);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(expected[i], fraud.Predict(payments[i]).Probability, 1e-5f);
            Assert.Equal(expected[i], fraudAsync.Predict(payments[i]).Probability, 1e-5f);
            Assert.Equal(expected[i], plain.Predict(new FraudFeatures(PaymentFeatures.Features(payments[i]))).Probability, 1e-5f);
        }

        var queued = await Task.WhenAll(payments.Select(p => fraudAsync.PredictAsync(p).AsTask()));
        var bulk = new Verdict[payments.Length];
        fraud.Predict(payments, bulk);
        var streamed = await fraud.PredictManyAsync(payments.ToAsyncEnumerable()).ToListAsync();
        var screened = await Task.WhenAll(payments.Select(p => cascade.PredictAsync(p).AsTask()));
        for (var i = 0; i < payments.Length; i++)
        {
            Assert.Equal(expected[i], queued[i].Probability, 1e-5f);
            Assert.Equal(expected[i] >= 0.5f, queued[i].Flagged);
            Assert.Equal(expected[i], bulk[i].Probability, 1e-5f);
            Assert.Equal(expected[i], streamed[i].Probability, 1e-5f);
            Assert.Equal(expected[i], screened[i].Probability, 1e-5f);
        }

        var uncertain = expected.Count(p => p is > 0.2f and < 0.8f);
        Assert.InRange(uncertain, 1, payments.Length - 1);
        Assert.Equal(uncertain, metrics.Sum("inprocserve.cascade.escalations", ("inprocserve.cascade.name", "screen")));
        Assert.Equal(payments.Length, metrics.Sum("inprocserve.cascade.requests", ("inprocserve.cascade.name", "screen")));
        await host.StopAsync();
    }

    [Fact]
    public void Registration_does_no_work()
    {
        var services = new ServiceCollection();
        services.AddModel<PlainFraud>().FromFile("/nowhere/missing.onnx");
        using var provider = services.BuildServiceProvider();

        var model = provider.GetRequiredService<ModelCatalog>()["PlainFraud"];

        Assert.Equal(ModelState.NotLoaded, model.State);
        Assert.Equal(0, model.QueueLength);
        Assert.Throws<InvalidOperationException>(() => model.Session);
    }

    [Fact]
    public void Core_registration_is_idempotent_and_adding_the_same_model_again_returns_its_builder()
    {
        var services = new ServiceCollection();
        services.AddModel<PlainFraud>();
        var count = services.Count;

        var again = services.AddModel<PlainFraud>();

        Assert.Equal("PlainFraud", again.Name);
        Assert.Same(services, again.Services);
        Assert.Equal(count, services.Count);
        var error = Assert.Throws<InvalidOperationException>(() => services.AddModel<UnplacedFraud>("PlainFraud"));
        Assert.Contains("already added with the definition PlainFraud", error.Message);
    }

    [Fact]
    public async Task Models_of_the_same_contract_are_told_apart_by_key_and_the_first_is_the_default()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>("fraud-a");
        builder.Services.AddModel<PlainFraud>("fraud-b").ConfigureBatching(b => b.MaxBatchSize = 8);
        using var host = builder.Build();
        await host.StartAsync();

        Assert.Equal("fraud-a", host.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>().Name);
        var b = host.Services.GetRequiredKeyedService<IModel<FraudFeatures, FraudScore>>("fraud-b");
        Assert.Equal("fraud-b", b.Name);
        var catalog = host.Services.GetRequiredService<ModelCatalog>();
        Assert.Equal(["fraud-a", "fraud-b"], catalog.Models.Select(m => m.Name));
        Assert.Equal(8, catalog["fraud-b"].MaxBatchSize);
        Assert.Equal(64, catalog["fraud-a"].MaxBatchSize);
        Assert.Same(catalog["fraud-a"].Lane, catalog["fraud-b"].Lane);
        var features = new FraudFeatures(PaymentFeatures.Features(new Payment(10, 1)));
        Assert.Equal(b.Predict(features).Probability, (await b.PredictAsync(features)).Probability, 1e-6f);
        await host.StopAsync();
    }

    [Fact]
    public void A_model_used_before_any_host_starts_it_loads_on_its_first_call()
    {
        var services = new ServiceCollection();
        services.AddModel<FraudModel>().AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        using var provider = services.BuildServiceProvider();
        var payment = new Payment(42, 3);

        var verdict = provider.GetRequiredService<IModel<Payment, Verdict>>().Predict(payment);

        Assert.Equal(FraudReference.Probability(payment), verdict.Probability, 1e-5f);
        Assert.Equal(ModelState.Ready, provider.GetRequiredService<ModelCatalog>()["FraudModel"].State);
    }

    [Fact]
    public void A_missing_registration_says_which_call_to_add()
    {
        var services = new ServiceCollection();
        services.AddModel<PlainFraud>();
        using var provider = services.BuildServiceProvider();

        var unkeyed = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IModel<Payment, Verdict>>());
        var keyed = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredKeyedService<IModel<FraudFeatures, FraudScore>>("fraud-b"));
        var byName = Assert.Throws<KeyNotFoundException>(() => provider.GetRequiredService<ModelCatalog>()["Fraud"]);
        var wrongTypes = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ModelCatalog>().GetModel<Payment, Verdict>("PlainFraud"));

        Assert.Contains("No model serves IModel<Payment, Verdict>: add services.AddModel<TDefinition>() for a definition that derives from ModelDefinition<Payment, TInput, TOutput, Verdict>", unkeyed.Message);
        Assert.Contains("under the name 'fraud-b': add services.AddModel<TDefinition>(\"fraud-b\")", keyed.Message);
        Assert.Contains("No model named 'Fraud' is registered (models: 'PlainFraud'): add services.AddModel<TDefinition>(\"Fraud\")", byName.Message);
        Assert.Contains("Model 'PlainFraud' takes FraudFeatures requests and gives FraudScore responses, not Payment → Verdict", wrongTypes.Message);
    }

    [Fact]
    public async Task Models_and_lanes_are_disposed_with_the_host()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>();
        var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>();
        await host.StopAsync();

        host.Dispose();

        var features = new FraudFeatures(new float[30]);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => model.PredictAsync(features).AsTask());
        Assert.ThrowsAny<ObjectDisposedException>(() => model.Predict(features));
    }
}
