// The fraud-scoring web app: a typed JSON endpoint, the Open Inference Protocol, health checks, metrics.
// Run: dotnet run --project samples/FraudDetection.Api    (then see README.md for curl commands)
using System.Text.Json;
using System.Text.Json.Serialization;
using FraudModel;
using InProcServe;
using InProcServe.AspNetCore;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

var builder = WebApplication.CreateSlimBuilder(args);

// The model: raw transaction → features → fraud.onnx (embedded) → probability → decision.
// Its options bind from InProcServe:Models:Fraud (appsettings.json), the threshold from Fraud:Threshold.
builder.Services.AddModel<Fraud>()
    .AddPreProcessor<TransactionFeatures>()
    .AddPostProcessor<FraudThreshold>()
    .AddHealthCheck();

// Source-generated JSON for the request and response: no reflection, trimming- and AOT-safe.
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, FraudJsonContext.Default));
builder.Services.AddOpenInferenceProtocol();

var app = builder.Build();

app.MapModel<Fraud>("/fraud/score");
app.MapOpenInferenceProtocol();
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = HealthResponse.WriteAsync });

app.Run();

[JsonSerializable(typeof(Transaction))]
[JsonSerializable(typeof(FraudDecision))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class FraudJsonContext : JsonSerializerContext;
