namespace InProcServe;

/// <summary>
/// A tensor paired with the name of the model input or output it binds to. Converts from a tuple, so
/// a run reads <c>session.Run([("features", input)], [("probability", output)])</c>.
/// </summary>
/// <param name="Name">The model input or output name.</param>
/// <param name="Value">The tensor.</param>
public readonly record struct NamedTensor(string Name, TensorValue Value)
{
    /// <summary>Pairs a name and a tensor.</summary>
    /// <param name="pair">The name and the tensor.</param>
    public static implicit operator NamedTensor((string Name, TensorValue Value) pair) => new(pair.Name, pair.Value);
}
