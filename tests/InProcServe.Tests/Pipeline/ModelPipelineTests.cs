using System.Collections.Concurrent;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.Tests.Pipeline;

/// <summary>The handler pipeline: middleware order, where handlers run, and one instance per model.</summary>
[Collection(HostingCollection.Name)]
public sealed class ModelPipelineTests
{
    [Fact]
    public async Task Middleware_wraps_the_call_in_the_order_added_and_runs_on_the_callers_side()
    {
        var journal = new ConcurrentQueue<string>();
        var builder = TestHost.Builder();
        builder.Services.AddSingleton(journal);
        builder.Services.AddModel<FraudModel>().AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>()
            .AddMiddleware<Outer>().AddMiddleware<Inner>();
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<Payment, Verdict>>();

        var direct = model.Predict(new Payment(1, 1));
        var queued = await model.PredictAsync(new Payment(1, 1));

        Assert.Equal(direct, queued);
        Assert.Equal(
            ["outer FraudModel Direct", "inner FraudModel Direct", "inner done", "outer done", "outer FraudModel Queued", "inner FraudModel Queued", "inner done", "outer done"],
            journal.Select(j => j.Split('@')[0]));
        // Middleware ran on the caller's threads, never on the lane's workers.
        Assert.DoesNotContain(journal, j => j.Contains("InProcServe lane"));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_handler_instance_shared_by_two_models_is_refused()
    {
        var builder = TestHost.Builder();
        builder.Services.AddSingleton<Threshold>();
        builder.Services.AddModel<FraudModel>("a").AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        builder.Services.AddModel<FraudModel>("b").AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Equal(
            "Model 'b' failed to load: the post-processor instance of Threshold is already used by model 'a'; a handler instance serves one place in one model. " +
            "Register Threshold as transient (AddPreProcessor, AddPostProcessor and AddMiddleware do, unless it is already registered otherwise), so each model gets its own.",
            error.Message);
    }

    [Fact]
    public async Task Transient_handlers_give_each_model_its_own_instance()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>("a").AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        builder.Services.AddModel<FraudModel>("b").AddPreProcessor<PaymentFeatures>().AddPostProcessor<Threshold>();
        using var host = builder.Build();

        await host.StartAsync();

        Assert.All(host.Services.GetRequiredService<ModelCatalog>().Models, m => Assert.Equal(ModelState.Ready, m.State));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_handler_of_the_wrong_types_fails_the_load_with_both_sets_of_types()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<FraudModel>().AddPreProcessor<Threshold>().AddPostProcessor<Threshold>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Equal(
            "Model 'FraudModel' failed to load: its pre-processor Threshold is not an IPreProcessor<Payment, FraudFeatures>: a model of Payment → Verdict over FraudFeatures → FraudScore needs one.",
            error.Message);
    }

    /// <summary>Records entry and exit, and the thread it ran on.</summary>
    public sealed class Outer(ConcurrentQueue<string> journal) : IModelMiddleware<Payment, Verdict>
    {
        public async ValueTask<Verdict> InvokeAsync(Payment request, ModelCallContext context, ModelCallDelegate<Payment, Verdict> next)
        {
            journal.Enqueue($"outer {context.ModelName} {context.Mode}@{Thread.CurrentThread.Name}");
            var response = await next(request, context);
            journal.Enqueue($"outer done@{Thread.CurrentThread.Name}");
            return response;
        }
    }

    /// <summary>Records entry and exit, and the thread it ran on.</summary>
    public sealed class Inner(ConcurrentQueue<string> journal) : IModelMiddleware<Payment, Verdict>
    {
        public async ValueTask<Verdict> InvokeAsync(Payment request, ModelCallContext context, ModelCallDelegate<Payment, Verdict> next)
        {
            journal.Enqueue($"inner {context.ModelName} {context.Mode}@{Thread.CurrentThread.Name}");
            var response = await next(request, context);
            journal.Enqueue($"inner done@{Thread.CurrentThread.Name}");
            return response;
        }
    }
}
