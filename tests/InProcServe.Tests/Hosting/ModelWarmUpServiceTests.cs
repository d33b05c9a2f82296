using InProcServe.Tests.Contracts;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using FraudScore = InProcServe.Tests.Contracts.FraudScore;

namespace InProcServe.Tests.Hosting;

/// <summary>The hosted service that loads and warms every model before the app is ready.</summary>
[Collection(HostingCollection.Name)]
public sealed class ModelWarmUpServiceTests
{
    [Fact]
    public async Task Every_model_is_loaded_and_warmed_at_the_sizes_it_will_use_before_start_returns()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>("a").ConfigureBatching(b => b.MaxBatchSize = 16);
        builder.Services.AddModel<PlainFraud>("b").WarmUp(1, 2, 3);
        builder.Services.AddModel<PlainFraud>("c").WarmUp();
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);

        await host.StartAsync();

        var catalog = host.Services.GetRequiredService<ModelCatalog>();
        Assert.All(catalog.Models, m => Assert.Equal(ModelState.Ready, m.State));
        Assert.Equal(3, metrics.Sum("inprocserve.model.loads", ("inprocserve.result", "ok")));
        // Warm-up runs are direct runs of the model, not calls: no request was counted.
        Assert.Empty(metrics.Values("inprocserve.requests"));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_required_model_that_fails_to_load_fails_start_with_its_name_and_the_cause()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>().FromFile("/nowhere/fraud.onnx");
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Equal("Model 'PlainFraud' failed to load: Model 'PlainFraud': the model file '/nowhere/fraud.onnx' does not exist.", error.Message);
        Assert.IsType<FileNotFoundException>(error.InnerException);
    }

    [Fact]
    public async Task A_contract_that_does_not_fit_fails_start_with_the_binding_message()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>().FromFile(TestModels.Path("multi_io"));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.StartsWith("Model 'PlainFraud' failed to load: Model 'PlainFraud' does not fit the contract FraudFeatures → FraudScore:", error.Message);
    }

    [Fact]
    public async Task An_optional_model_that_fails_keeps_the_app_up_and_reports_unhealthy()
    {
        var builder = TestHost.Builder();
        builder.Services.AddHealthChecks();
        builder.Services.AddModel<PlainFraud>("broken").FromFile("/nowhere/fraud.onnx").AsOptional().AddHealthCheck();
        builder.Services.AddModel<PlainFraud>("working").AddHealthCheck();
        using var host = builder.Build();
        await host.StartAsync();

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var broken = host.Services.GetRequiredKeyedService<IModel<FraudFeatures, FraudScore>>("broken");

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["inprocserve:broken"].Status);
        Assert.Contains("does not exist", report.Entries["inprocserve:broken"].Description);
        Assert.Equal(HealthStatus.Healthy, report.Entries["inprocserve:working"].Status);
        Assert.Equal(["ready"], report.Entries["inprocserve:working"].Tags);
        var error = Assert.Throws<InvalidOperationException>(() => broken.Predict(new FraudFeatures(new float[30])));
        Assert.StartsWith("Model 'broken' failed to load:", error.Message);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_model_with_a_request_type_of_its_own_and_no_pre_processor_says_which_call_to_add()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>().AddPostProcessor<Threshold>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Equal(
            "Model 'FraudModel' failed to load: it takes Payment requests and runs on FraudFeatures inputs but has no pre-processor: " +
            "add .AddPreProcessor<T>() to AddModel, with a T that implements IPreProcessor<Payment, FraudFeatures>.",
            error.Message);
    }
}
