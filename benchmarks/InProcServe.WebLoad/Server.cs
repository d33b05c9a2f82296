using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using FraudModel;
using InProcServe.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InProcServe.WebLoad;

/// <summary>
/// The server side: FraudDetection.Api's registrations (model, handlers, batching settings from its appsettings.json,
/// source-generated JSON) and <c>MapModel&lt;Fraud&gt;("/fraud/score")</c>, plus <c>POST /echo</c>, a plain minimal-API
/// endpoint that binds the same <see cref="Transaction"/> JSON and answers a <see cref="FraudDecision"/> of the
/// same shape without a model. Loopback only.
/// </summary>
internal static class Server
{
    internal const string Ready = "webload-server-ready";

    internal static async Task<int> RunAsync(int port, string maxDelay)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        // samples/FraudDetection.Api/appsettings.json, the part the model reads.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fraud:Threshold"] = "0.5",
            ["InProcServe:Models:Fraud:Batching:MaxBatchSize"] = "64",
            ["InProcServe:Models:Fraud:Batching:MaxDelay"] = maxDelay,
            ["InProcServe:Models:Fraud:Batching:QueueCapacity"] = "1024",
            ["InProcServe:Models:Fraud:Batching:FullMode"] = "Reject",
            // A model-bound case for the web peers (benchmarks/web-peers/run.sh): wide.onnx over the Open Inference
            // Protocol, from configuration alone, so concurrent one-row requests are joined on the lane.
            ["InProcServe:Models:wide:Path"] = Path.Combine(AppContext.BaseDirectory, "models", "wide.onnx"),
            ["InProcServe:Models:wide:Session:IntraOpThreads"] = "1",
        });

        builder.Services.AddModel<Fraud>()
            .AddPreProcessor<TransactionFeatures>()
            .AddPostProcessor<FraudThreshold>();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, WebLoadJsonContext.Default));
        builder.Services.AddOpenInferenceProtocol();

        var app = builder.Build();
        app.MapModel<Fraud>("/fraud/score");
        app.MapPost("/echo", (Transaction transaction) => new FraudDecision(Echo(transaction), false));
        app.MapOpenInferenceProtocol();

        // For profiling (--direct): the same model and handlers through the direct path, inline on the request's
        // thread, without the micro-batcher's queue and thread hops.
        app.MapPost("/fraud/direct", (Transaction transaction, [FromKeyedServices("Fraud")] IModel<Transaction, FraudDecision> model) => model.Predict(transaction));

        await app.StartAsync().ConfigureAwait(false);
        Console.WriteLine(Ready);
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>A probability-like float from the request, for a response with as many digits as the model's.</summary>
    private static float Echo(Transaction transaction) => 1f / (1f + MathF.Exp(-(transaction.Amount / 100f) + (transaction.DistanceKm / 500f) + 3f));
}

/// <summary>The sample's JSON context: source-generated metadata for the request and the response.</summary>
[JsonSerializable(typeof(Transaction))]
[JsonSerializable(typeof(FraudDecision))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class WebLoadJsonContext : JsonSerializerContext;
