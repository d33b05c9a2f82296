namespace InProcServe;

/// <summary>The element type an Open Inference Protocol datatype name stands for: the way back from <see cref="DataTypes.Name"/>.</summary>
internal static class OipDataTypes
{
    private static readonly Dictionary<string, TensorElementType> ByName =
        Enum.GetValues<TensorElementType>().Where(t => DataTypes.Name(t) is not null).ToDictionary(t => DataTypes.Name(t)!, StringComparer.Ordinal);

    /// <summary>The element type <paramref name="name"/> stands for; null for a name the protocol does not define.</summary>
    internal static TensorElementType? Parse(string name) => ByName.TryGetValue(name, out var type) ? type : null;
}
