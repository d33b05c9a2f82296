// The fraud-scoring web app: a typed JSON endpoint, the Open Inference Protocol (REST and gRPC), health checks, telemetry and a dashboard.
// Run: dotnet run --project samples/FraudDetection.Api    (then see README.md for curl commands)
using System.Text.Json;
using System.Text.Json.Serialization;
using FraudModel;
using InProcServe.AspNetCore;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateSlimBuilder(args);

// The model: raw transaction → features → fraud.onnx (embedded) → probability → decision.
// Its options bind from InProcServe:Models:Fraud (appsettings.json), the threshold from Fraud:Threshold.
// Monitoring samples a share of predictions (Monitoring:SampleRate) for the probability's distribution and the inputs' summary.
builder.Services.AddModel<Fraud>()
    .AddPreProcessor<TransactionFeatures>()
    .AddPostProcessor<FraudThreshold>()
    .MonitorOutput<FraudScore>("probability", score => score.Probability)
    .AddHealthCheck();

// Source-generated JSON for the request and response: no reflection, trimming- and AOT-safe.
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, FraudJsonContext.Default));
builder.Services.AddOpenInferenceProtocol();

// Models with no C# contract (InProcServe:Models:<name>:Path, or a repository at InProcServe:ModelRepository) are
// served through the Open Inference Protocol; one check reports them (Degraded, with the cause, when one failed).
builder.Services.AddHealthChecks().AddUntypedModelsCheck();

// Telemetry: InProcServe's meter beside ASP.NET Core's, scraped by Prometheus at /metrics; InProcServe's call spans
// inside ASP.NET Core's request spans. Setting OTEL_EXPORTER_OTLP_ENDPOINT (or Telemetry:Otlp:Endpoint) also sends
// both to an OTLP collector.
var otlp = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? builder.Configuration["Telemetry:Otlp:Endpoint"];
var telemetry = builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("FraudDetection.Api"))
    .WithMetrics(metrics =>
    {
        metrics.AddMeter("InProcServe", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter();
        if (otlp is not null) metrics.AddOtlpExporter(o => o.Endpoint = new Uri(otlp));
    })
    .WithTracing(tracing =>
    {
        tracing.AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/metrics"))
            .AddSource("InProcServe");
        if (otlp is not null) tracing.AddOtlpExporter(o => o.Endpoint = new Uri(otlp));
    });

var app = builder.Build();

app.MapModel<Fraud>("/fraud/score");
app.MapOpenInferenceProtocol();
// The same protocol over gRPC, for Triton's and KServe's gRPC clients: on the HTTP/2 endpoint Kestrel:Endpoints:Grpc
// (appsettings.json, http://localhost:5001), since gRPC without TLS needs an endpoint that speaks HTTP/2 alone.
app.MapOpenInferenceGrpc();
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = HealthResponse.WriteAsync });
app.MapPrometheusScrapingEndpoint("/metrics");
// The live dashboard: open only from this machine here; a deployed app would require its own authorization policy.
app.MapInProcServeDashboard("/inprocserve", o => o.Authorize = context => ValueTask.FromResult(context.Connection.RemoteIpAddress is { } ip && System.Net.IPAddress.IsLoopback(ip)));

app.Run();

[JsonSerializable(typeof(Transaction))]
[JsonSerializable(typeof(FraudDecision))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class FraudJsonContext : JsonSerializerContext;
