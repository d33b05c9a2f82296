namespace InProcServe;

/// <summary>What one loaded version of a hosted model takes and gives, as its model file declares it.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Version">The version's number.</param>
/// <param name="Inputs">Its inputs, in the model's order.</param>
/// <param name="Outputs">Its outputs, in the model's order.</param>
public sealed record ModelSignature(string Model, long Version, IReadOnlyList<TensorInfo> Inputs, IReadOnlyList<TensorInfo> Outputs);
