namespace InProcServe;

/// <summary>
/// The Open Inference Protocol's datatype names for the element types a contract holds, both ways. The remote client's own
/// copy until the protocol's shared codec (src/InProcServe/Protocol/, branch grpc) lands, which will replace it.
/// </summary>
internal static class OipDataTypes
{
    private static readonly (TensorElementType Type, string Name)[] Names =
    [
        (TensorElementType.Bool, "BOOL"),
        (TensorElementType.UInt8, "UINT8"),
        (TensorElementType.UInt16, "UINT16"),
        (TensorElementType.UInt32, "UINT32"),
        (TensorElementType.UInt64, "UINT64"),
        (TensorElementType.Int8, "INT8"),
        (TensorElementType.Int16, "INT16"),
        (TensorElementType.Int32, "INT32"),
        (TensorElementType.Int64, "INT64"),
        (TensorElementType.Float16, "FP16"),
        (TensorElementType.Float, "FP32"),
        (TensorElementType.Double, "FP64"),
        (TensorElementType.String, "BYTES"),
        (TensorElementType.BFloat16, "BF16"),
    ];

    /// <summary>The datatype name of <paramref name="type"/>; null for a type the protocol has no name for.</summary>
    internal static string? Name(TensorElementType type) => Array.Find(Names, n => n.Type == type).Name;

    /// <summary>The element type a datatype name stands for; null for a name the protocol does not define.</summary>
    internal static TensorElementType? Parse(string name) => Array.FindIndex(Names, n => n.Name == name) is >= 0 and var i ? Names[i].Type : null;
}
