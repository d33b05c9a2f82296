using System.Globalization;
using System.Text.Json;

namespace InProcServe.Cli;

/// <summary>
/// A tensor held in .NET memory, of any element type named at run time: the tool's untyped inputs and outputs.
/// <see cref="Data"/> is a <c>float[]</c>, <c>long[]</c>, <c>string[]</c>, … of the element type.
/// </summary>
internal sealed record HostTensor(TensorElementType ElementType, long[] Shape, Array Data)
{
    /// <summary>Wraps the data as a tensor ONNX Runtime reads in place (strings are copied, as ONNX Runtime requires).</summary>
    internal TensorValue ToTensorValue() => Data switch
    {
        float[] a => TensorValue.Create(a, Shape),
        double[] a => TensorValue.Create(a, Shape),
        Half[] a => TensorValue.Create(a, Shape),
        sbyte[] a => TensorValue.Create(a, Shape),
        short[] a => TensorValue.Create(a, Shape),
        int[] a => TensorValue.Create(a, Shape),
        long[] a => TensorValue.Create(a, Shape),
        byte[] a => TensorValue.Create(a, Shape),
        ushort[] a => TensorValue.Create(a, Shape),
        uint[] a => TensorValue.Create(a, Shape),
        ulong[] a => TensorValue.Create(a, Shape),
        bool[] a => TensorValue.Create(a, Shape),
        string[] a => TensorValue.CreateStrings(a, Shape),
        _ => throw new NotSupportedException($"No tensor of {Data.GetType().Name} data."),
    };

    /// <summary>Copies a tensor's elements out of ONNX Runtime's memory.</summary>
    internal static HostTensor From(TensorValue value)
    {
        Array data = value.ElementType switch
        {
            TensorElementType.Float => value.GetSpan<float>().ToArray(),
            TensorElementType.Double => value.GetSpan<double>().ToArray(),
            TensorElementType.Float16 => value.GetSpan<Half>().ToArray(),
            TensorElementType.Int8 => value.GetSpan<sbyte>().ToArray(),
            TensorElementType.Int16 => value.GetSpan<short>().ToArray(),
            TensorElementType.Int32 => value.GetSpan<int>().ToArray(),
            TensorElementType.Int64 => value.GetSpan<long>().ToArray(),
            TensorElementType.UInt8 => value.GetSpan<byte>().ToArray(),
            TensorElementType.UInt16 => value.GetSpan<ushort>().ToArray(),
            TensorElementType.UInt32 => value.GetSpan<uint>().ToArray(),
            TensorElementType.UInt64 => value.GetSpan<ulong>().ToArray(),
            TensorElementType.Bool => value.GetSpan<bool>().ToArray(),
            TensorElementType.String => value.GetStrings(),
            _ => throw new NotSupportedException($"Can't read a tensor of {TensorText.TypeName(value.ElementType)} elements."),
        };
        return new HostTensor(value.ElementType, value.Shape.ToArray(), data);
    }

    /// <summary>The elements as doubles, for comparing outputs; null for strings.</summary>
    internal double[]? ToDoubles() => Data switch
    {
        float[] a => [.. a.Select(v => (double)v)],
        double[] a => a,
        Half[] a => [.. a.Select(v => (double)v)],
        bool[] a => [.. a.Select(v => v ? 1.0 : 0.0)],
        string[] => null,
        _ => [.. Data.Cast<object>().Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture))],
    };

    /// <summary>
    /// Reads one tensor of a models/*.reference.json file: <c>{"type": "float32", "shape": [16, 30], "data": [...]}</c>.
    /// </summary>
    /// <exception cref="CliException">The type is unknown or the data doesn't fill the shape.</exception>
    internal static HostTensor FromJson(string name, JsonElement json)
    {
        var typeName = json.GetProperty("type").GetString() ?? "";
        var type = TensorText.ParseTypeName(typeName) ?? throw new CliException($"Tensor '{name}': unknown type '{typeName}'; expected float32, int64, string, ….");
        var shape = json.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var values = json.GetProperty("data").EnumerateArray().ToArray();
        var count = shape.Aggregate(1L, (product, d) => product * d);
        if (values.Length != count)
        {
            throw new CliException($"Tensor '{name}': the shape {TensorText.Shape(shape)} holds {count} elements, but the data has {values.Length}.");
        }

        Array data = type switch
        {
            TensorElementType.Float => values.Select(v => (float)v.GetDouble()).ToArray(),
            TensorElementType.Double => values.Select(v => v.GetDouble()).ToArray(),
            TensorElementType.Float16 => values.Select(v => (Half)v.GetDouble()).ToArray(),
            TensorElementType.Int8 => values.Select(v => v.GetSByte()).ToArray(),
            TensorElementType.Int16 => values.Select(v => v.GetInt16()).ToArray(),
            TensorElementType.Int32 => values.Select(v => v.GetInt32()).ToArray(),
            TensorElementType.Int64 => values.Select(v => v.GetInt64()).ToArray(),
            TensorElementType.UInt8 => values.Select(v => v.GetByte()).ToArray(),
            TensorElementType.UInt16 => values.Select(v => v.GetUInt16()).ToArray(),
            TensorElementType.UInt32 => values.Select(v => v.GetUInt32()).ToArray(),
            TensorElementType.UInt64 => values.Select(v => v.GetUInt64()).ToArray(),
            TensorElementType.Bool => values.Select(v => v.GetBoolean()).ToArray(),
            TensorElementType.String => values.Select(v => v.GetString() ?? "").ToArray(),
            _ => throw new CliException($"Tensor '{name}': {typeName} tensors can't be read."),
        };
        return new HostTensor(type, shape, data);
    }
}
