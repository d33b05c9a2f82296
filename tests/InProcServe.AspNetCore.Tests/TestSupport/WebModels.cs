using System.Text.Json.Serialization;
using InProcServe.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.TestSupport;

// Contracts and definitions the web tests host. Results are checked against the models' numpy references.

/// <summary>fraud.onnx's input: 30 features.</summary>
[ModelInput]
public readonly partial record struct FraudFeatures([Tensor("features", Length = 30)] float[] Features);

/// <summary>fraud.onnx's output.</summary>
[ModelOutput]
public readonly partial record struct FraudScore([Tensor("probability")] float Probability);

/// <summary>What the web client sends.</summary>
public sealed record ScoreRequest(float[] Features, string? Customer = null);

/// <summary>What the web client gets.</summary>
public sealed record ScoreResponse(float Probability, bool Flagged);

/// <summary>The fraud model called with <see cref="ScoreRequest"/>: the request's features in, a decision out.</summary>
public sealed class Scoring : ModelDefinition<ScoreRequest, FraudFeatures, FraudScore, ScoreResponse>
{
    protected override void Configure(ModelOptions options) => options.Path = TestModels.Path("fraud");
}

public sealed class ScoringPre : IPreProcessor<ScoreRequest, FraudFeatures>
{
    public ValueTask<FraudFeatures> ProcessAsync(ScoreRequest request, CancellationToken cancellationToken) => new(new FraudFeatures(request.Features));
}

public sealed class ScoringPost : IPostProcessor<FraudScore, ScoreResponse>
{
    public ValueTask<ScoreResponse> ProcessAsync(FraudScore output, CancellationToken cancellationToken) =>
        new(new ScoreResponse(output.Probability, output.Probability >= 0.5f));
}

/// <summary>slow_rows.onnx: a row whose batch keeps the lane's worker busy for <see cref="Iterations"/> steps.</summary>
[ModelInput]
public readonly partial record struct SlowInput([Tensor("x", Length = 512)] float[] X, [Tensor("iterations")] long Iterations);

[ModelOutput]
public readonly partial record struct SlowOutput([Tensor("y", Length = 512)] float[] Y);

/// <summary>slow_rows.onnx with no handlers: for full queues and deadlines.</summary>
public sealed class Slow : ModelDefinition<SlowInput, SlowOutput>
{
    protected override void Configure(ModelOptions options) => options.Path = TestModels.Path("slow_rows");
}

[JsonSerializable(typeof(ScoreRequest))]
[JsonSerializable(typeof(ScoreResponse))]
[JsonSerializable(typeof(SlowInput))]
[JsonSerializable(typeof(SlowOutput))]
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
internal sealed partial class WebJsonContext : JsonSerializerContext;
