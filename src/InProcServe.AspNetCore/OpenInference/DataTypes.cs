namespace InProcServe.AspNetCore;

/// <summary>The protocol's datatype names ("FP32", "INT64", "BYTES") for ONNX element types.</summary>
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
}
