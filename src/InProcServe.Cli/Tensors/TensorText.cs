namespace InProcServe.Cli;

/// <summary>How the tool names element types and shapes: as the models' reference JSON files and ONNX do (float32, int64).</summary>
internal static class TensorText
{
    /// <summary>The ONNX name of an element type: float32, int64, string, …</summary>
    internal static string TypeName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.UInt8 => "uint8",
        TensorElementType.Int8 => "int8",
        TensorElementType.UInt16 => "uint16",
        TensorElementType.Int16 => "int16",
        TensorElementType.Int32 => "int32",
        TensorElementType.Int64 => "int64",
        TensorElementType.String => "string",
        TensorElementType.Bool => "bool",
        TensorElementType.Float16 => "float16",
        TensorElementType.Double => "float64",
        TensorElementType.UInt32 => "uint32",
        TensorElementType.UInt64 => "uint64",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <summary>The element type of an ONNX name, the inverse of <see cref="TypeName"/>.</summary>
    internal static TensorElementType? ParseTypeName(string name)
    {
        foreach (var type in Enum.GetValues<TensorElementType>())
        {
            if (TypeName(type) == name) return type;
        }

        return null;
    }

    /// <summary>A model tensor's dimensions with their symbolic names: [batch,30], [?,?], [] for a scalar.</summary>
    internal static string Shape(TensorInfo info) =>
        "[" + string.Join(",", info.Shape.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : info.DimensionNames[i] ?? "?")) + "]";

    /// <summary>Concrete dimensions: [64,30].</summary>
    internal static string Shape(ReadOnlySpan<long> shape) => "[" + string.Join(",", shape.ToArray()) + "]";
}
