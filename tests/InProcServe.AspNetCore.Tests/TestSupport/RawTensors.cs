using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using InProcServe.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.TestSupport;

/// <summary>
/// The protocol's binary tensor layout (REST's binary data, gRPC's raw contents), written and read here from the numpy
/// references without the server's codec, so the tests check it rather than repeat it: elements flat, row-major,
/// little-endian; BOOL one byte; BYTES a 4-byte little-endian length before each element's UTF-8.
/// </summary>
internal static class RawTensors
{
    /// <summary>The protocol's datatype for a reference's numpy type.</summary>
    internal static string Datatype(string numpy) => numpy switch
    {
        "float32" => "FP32",
        "float64" => "FP64",
        "float16" => "FP16",
        "string" => "BYTES",
        _ => numpy.ToUpperInvariant(),
    };

    /// <summary>A reference tensor's elements in binary form.</summary>
    internal static byte[] Encode(ReferenceTensor tensor) => tensor.Type switch
    {
        "float32" => Bytes(tensor.Data.Select(d => (float)d.GetDouble())),
        "float64" => Bytes(tensor.Data.Select(d => d.GetDouble())),
        "float16" => Bytes(tensor.Data.Select(d => (Half)d.GetDouble())),
        "int8" => Bytes(tensor.Data.Select(d => d.GetSByte())),
        "int16" => Bytes(tensor.Data.Select(d => d.GetInt16())),
        "int32" => Bytes(tensor.Data.Select(d => d.GetInt32())),
        "int64" => Bytes(tensor.Data.Select(d => d.GetInt64())),
        "uint8" => Bytes(tensor.Data.Select(d => d.GetByte())),
        "uint16" => Bytes(tensor.Data.Select(d => d.GetUInt16())),
        "uint32" => Bytes(tensor.Data.Select(d => d.GetUInt32())),
        "uint64" => Bytes(tensor.Data.Select(d => d.GetUInt64())),
        "bool" => tensor.Data.Select(d => d.GetBoolean() ? (byte)1 : (byte)0).ToArray(),
        "string" => Strings(tensor.Data.Select(d => d.GetString()!)),
        _ => throw new InvalidOperationException($"No binary form for '{tensor.Type}'."),
    };

    /// <summary>BYTES elements, each after its length.</summary>
    internal static byte[] Strings(IEnumerable<string> values)
    {
        var bytes = new List<byte>();
        foreach (var value in values)
        {
            var utf8 = Encoding.UTF8.GetBytes(value);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
            bytes.AddRange(length);
            bytes.AddRange(utf8);
        }

        return [.. bytes];
    }

    /// <summary>Asserts that the binary form <paramref name="actual"/> holds the reference's elements (floats within <paramref name="tolerance"/>).</summary>
    internal static void AssertMatches(ReferenceTensor expected, ReadOnlySpan<byte> actual, double tolerance)
    {
        using var tensor = expected.Type switch
        {
            "float32" => Tensor<float>(actual, expected.Shape),
            "float64" => Tensor<double>(actual, expected.Shape),
            "float16" => Tensor<Half>(actual, expected.Shape),
            "int8" => Tensor<sbyte>(actual, expected.Shape),
            "int16" => Tensor<short>(actual, expected.Shape),
            "int32" => Tensor<int>(actual, expected.Shape),
            "int64" => Tensor<long>(actual, expected.Shape),
            "uint8" => Tensor<byte>(actual, expected.Shape),
            "uint16" => Tensor<ushort>(actual, expected.Shape),
            "uint32" => Tensor<uint>(actual, expected.Shape),
            "uint64" => Tensor<ulong>(actual, expected.Shape),
            "bool" => Tensor<bool>(actual, expected.Shape),
            "string" => TensorValue.CreateStrings(ReadStrings(actual, expected.Data.Length), expected.Shape),
            _ => throw new InvalidOperationException($"No binary form for '{expected.Type}'."),
        };
        expected.AssertMatches(tensor, tolerance);
    }

    private static string[] ReadStrings(ReadOnlySpan<byte> bytes, int count)
    {
        var values = new string[count];
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes);
            values[i] = Encoding.UTF8.GetString(bytes.Slice(4, length));
            bytes = bytes[(4 + length)..];
        }

        Assert.True(bytes.IsEmpty, $"{bytes.Length} bytes follow the {count} strings.");
        return values;
    }

    private static TensorValue Tensor<T>(ReadOnlySpan<byte> bytes, long[] shape)
        where T : unmanaged => TensorValue.Create(MemoryMarshal.Cast<byte, T>(bytes).ToArray(), shape);

    private static byte[] Bytes<T>(IEnumerable<T> values)
        where T : unmanaged => MemoryMarshal.AsBytes(values.ToArray().AsSpan()).ToArray();
}
