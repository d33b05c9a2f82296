namespace InProcServe;

/// <summary>
/// The element type of a tensor, numbered as ONNX numbers them (<c>ONNXTensorElementDataType</c>).
/// The .NET type that holds each one is given per member; types without one can appear in model
/// signatures but can't be bound to .NET memory.
/// </summary>
public enum TensorElementType
{
    /// <summary>Not a tensor, or a type ONNX Runtime did not name.</summary>
    Undefined = 0,
    /// <summary>32-bit float: <see cref="float"/>.</summary>
    Float = 1,
    /// <summary>8-bit unsigned integer: <see cref="byte"/>.</summary>
    UInt8 = 2,
    /// <summary>8-bit signed integer: <see cref="sbyte"/>.</summary>
    Int8 = 3,
    /// <summary>16-bit unsigned integer: <see cref="ushort"/>.</summary>
    UInt16 = 4,
    /// <summary>16-bit signed integer: <see cref="short"/>.</summary>
    Int16 = 5,
    /// <summary>32-bit signed integer: <see cref="int"/>.</summary>
    Int32 = 6,
    /// <summary>64-bit signed integer: <see cref="long"/>.</summary>
    Int64 = 7,
    /// <summary>UTF-8 string: <see cref="string"/>, through <see cref="TensorValue.CreateStrings"/> and <see cref="TensorValue.GetStrings"/>.</summary>
    String = 8,
    /// <summary>Boolean, one byte per element: <see cref="bool"/>.</summary>
    Bool = 9,
    /// <summary>IEEE 754 half precision: <see cref="Half"/>.</summary>
    Float16 = 10,
    /// <summary>64-bit float: <see cref="double"/>.</summary>
    Double = 11,
    /// <summary>32-bit unsigned integer: <see cref="uint"/>.</summary>
    UInt32 = 12,
    /// <summary>64-bit unsigned integer: <see cref="ulong"/>.</summary>
    UInt64 = 13,
    /// <summary>Complex of two 32-bit floats (not bindable).</summary>
    Complex64 = 14,
    /// <summary>Complex of two 64-bit floats (not bindable).</summary>
    Complex128 = 15,
    /// <summary>Brain floating point, 16 bits (not bindable).</summary>
    BFloat16 = 16,
    /// <summary>8-bit float E4M3FN (not bindable).</summary>
    Float8E4M3FN = 17,
    /// <summary>8-bit float E4M3FNUZ (not bindable).</summary>
    Float8E4M3FNUZ = 18,
    /// <summary>8-bit float E5M2 (not bindable).</summary>
    Float8E5M2 = 19,
    /// <summary>8-bit float E5M2FNUZ (not bindable).</summary>
    Float8E5M2FNUZ = 20,
    /// <summary>4-bit unsigned integer, two per byte (not bindable).</summary>
    UInt4 = 21,
    /// <summary>4-bit signed integer, two per byte (not bindable).</summary>
    Int4 = 22,
}
