namespace InProcServe.LoadTest;

/// <summary>fraud.onnx's input: one row of 30 features, bound by the generator.</summary>
[ModelInput]
internal readonly partial record struct FraudFeatures([Tensor("features", Length = 30)] float[] Features);

/// <summary>fraud.onnx's output; a struct, so reading a result allocates nothing.</summary>
[ModelOutput]
internal readonly partial record struct FraudProbability([Tensor("probability")] float Probability);

/// <summary>The fraud model hosted with no handlers (the monitoring and hosting phases); its file is set by the builder.</summary>
internal sealed class HostedFraud : ModelDefinition<FraudFeatures, FraudProbability>;
