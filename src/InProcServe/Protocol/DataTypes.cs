namespace InProcServe;

/// <summary>The Open Inference Protocol's datatype names ("FP32", "INT64", "BYTES") for ONNX element types, and their sizes.</summary>
internal static class DataTypes
{
    internal static string? Name(TensorElementType type) => type switch
    {
        TensorElementType.Bool => "BOOL",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.UInt16 => "UINT16",
        TensorElementType.UInt32 => "UINT32",
        TensorElementType.UInt64 => "UINT64",
        TensorElementType.Int8 => "INT8",
        TensorElementType.Int16 => "INT16",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int64 => "INT64",
        TensorElementType.Float16 => "FP16",
        TensorElementType.Float => "FP32",
        TensorElementType.Double => "FP64",
        TensorElementType.String => "BYTES",
        TensorElementType.BFloat16 => "BF16",
        _ => null,
    };

    /// <summary>Bytes per element in the protocol's binary form; 0 for BYTES, whose elements each carry their length.</summary>
    internal static int Size(TensorElementType type) => type switch
    {
        TensorElementType.Bool or TensorElementType.UInt8 or TensorElementType.Int8 => 1,
        TensorElementType.UInt16 or TensorElementType.Int16 or TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        TensorElementType.UInt32 or TensorElementType.Int32 or TensorElementType.Float => 4,
        TensorElementType.UInt64 or TensorElementType.Int64 or TensorElementType.Double => 8,
        _ => 0,
    };
}
