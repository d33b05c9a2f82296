using System.Runtime.CompilerServices;

namespace InProcServe.Tensors;

/// <summary>Maps .NET element types to ONNX element types and names them in messages.</summary>
internal static class TensorElement
{
    /// <summary>The ONNX element type for <typeparamref name="T"/>; the JIT folds this to a constant per T.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no ONNX element type.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TensorElementType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return TensorElementType.Float;
        if (typeof(T) == typeof(double)) return TensorElementType.Double;
        if (typeof(T) == typeof(Half)) return TensorElementType.Float16;
        if (typeof(T) == typeof(sbyte)) return TensorElementType.Int8;
        if (typeof(T) == typeof(short)) return TensorElementType.Int16;
        if (typeof(T) == typeof(int)) return TensorElementType.Int32;
        if (typeof(T) == typeof(long)) return TensorElementType.Int64;
        if (typeof(T) == typeof(byte)) return TensorElementType.UInt8;
        if (typeof(T) == typeof(ushort)) return TensorElementType.UInt16;
        if (typeof(T) == typeof(uint)) return TensorElementType.UInt32;
        if (typeof(T) == typeof(ulong)) return TensorElementType.UInt64;
        if (typeof(T) == typeof(bool)) return TensorElementType.Bool;
        return ThrowUnsupported<T>();
    }

    /// <summary>Bytes per element of a bindable type, or 0 when the type has no .NET counterpart.</summary>
    internal static int SizeOf(TensorElementType type) => type switch
    {
        TensorElementType.Int8 or TensorElementType.UInt8 or TensorElementType.Bool => 1,
        TensorElementType.Int16 or TensorElementType.UInt16 or TensorElementType.Float16 => 2,
        TensorElementType.Int32 or TensorElementType.UInt32 or TensorElementType.Float => 4,
        TensorElementType.Int64 or TensorElementType.UInt64 or TensorElementType.Double => 8,
        _ => 0,
    };

    /// <summary>The name used in messages and in model signatures: numpy's spelling ("float32", "int64").</summary>
    internal static string Name(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Double => "float64",
        TensorElementType.Float16 => "float16",
        TensorElementType.BFloat16 => "bfloat16",
        TensorElementType.Bool => "bool",
        TensorElementType.String => "string",
        TensorElementType.Undefined => "undefined",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <summary>Formats a shape as "[2,30]", or with symbolic names for dynamic dimensions ("[batch,30]").</summary>
    internal static string FormatShape(ReadOnlySpan<long> shape, IReadOnlyList<string?>? dimensionNames = null)
    {
        var text = new System.Text.StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0) text.Append(',');
            if (shape[i] >= 0) text.Append(shape[i]);
            else text.Append(dimensionNames?[i] is { Length: > 0 } name ? name : "?");
        }

        return text.Append(']').ToString();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TensorElementType ThrowUnsupported<T>() =>
        throw new NotSupportedException(
            $"{typeof(T)} can't be a tensor element. Supported: float, double, Half, sbyte, short, int, long, byte, ushort, uint, ulong, bool.");
}
