using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// The Open Inference Protocol's binary form of a tensor, one layout for both of its uses: Triton's
/// <c>binary_tensor_data</c> extension over REST (bytes after the JSON) and gRPC's <c>raw_input_contents</c> and
/// <c>raw_output_contents</c>. The elements are flat and row-major with no padding, little-endian (every platform .NET
/// runs on here); FP16 and BF16 as their 2 raw bytes; BOOL one byte, 0 or 1; BYTES as each element's length (4 bytes,
/// little-endian) before its bytes. Strings are UTF-8 text in ONNX Runtime, so BYTES elements must be valid UTF-8.
/// </summary>
internal static class BinaryTensors
{
    /// <summary>The tensor's elements in binary form.</summary>
    /// <exception cref="NotSupportedException">The tensor's element type has no binary form here.</exception>
    internal static byte[] Encode(TensorValue value)
    {
        if (value.ElementType == TensorElementType.String) return EncodeStrings(value.GetStrings());
        if (DataTypes.Size(value.ElementType) == 0 || TensorElement.SizeOf(value.ElementType) == 0)
        {
            throw new NotSupportedException($"A {value} tensor has no binary form in the Open Inference Protocol.");
        }

        return value.Bytes.ToArray();
    }

    private static byte[] EncodeStrings(string[] values)
    {
        long total = 0;
        foreach (var value in values) total += 4 + Encoding.UTF8.GetByteCount(value);
        var bytes = new byte[checked((int)total)];
        var at = 0;
        foreach (var value in values)
        {
            var length = Encoding.UTF8.GetBytes(value, bytes.AsSpan(at + 4));
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), length);
            at += 4 + length;
        }

        return bytes;
    }

    /// <summary>
    /// A tensor from its binary form, checked: the byte count must be what the element type and shape take, each BYTES
    /// length must fit in what is left, and BOOL bytes must be 0 or 1. Shape and element limits are the caller's to
    /// check first; nothing is allocated for the elements before the byte count is known to add up.
    /// </summary>
    /// <param name="what">The tensor as messages name it: "Input 'x'".</param>
    /// <param name="type">The element type.</param>
    /// <param name="shape">The dimensions, none negative.</param>
    /// <param name="data">The binary form.</param>
    /// <exception cref="InvalidDataException">The data does not fit the type and shape; the message says what was expected and what came.</exception>
    /// <exception cref="NotSupportedException">The element type can't be held in a tensor here (BF16).</exception>
    internal static TensorValue Decode(string what, TensorElementType type, long[] shape, ReadOnlySpan<byte> data)
    {
        var count = shape.Aggregate(1L, (product, dimension) => checked(product * dimension));
        if (type == TensorElementType.String) return TensorValue.CreateStrings(DecodeStrings(what, count, data), shape);
        var size = DataTypes.Size(type);
        if (size == 0 || TensorElement.SizeOf(type) == 0)
        {
            throw new NotSupportedException($"{what}: {DataTypes.Name(type) ?? TensorElement.Name(type)} elements can't be held in a tensor here.");
        }

        if (data.Length != count * size)
        {
            throw new InvalidDataException($"{what}: {DataTypes.Name(type)} {TensorElement.FormatShape(shape)} takes {count * size} bytes ({count} elements of {size}), but its binary data has {data.Length}.");
        }

        if (type == TensorElementType.Bool && data.IndexOfAnyExcept((byte)0, (byte)1) is var bad and >= 0)
        {
            throw new InvalidDataException($"{what}: BOOL element {bad} is the byte {data[bad]}; BOOL elements are 0 or 1.");
        }

        var tensor = TensorValue.Allocate(type, shape);
        data.CopyTo(tensor.Bytes);
        return tensor;
    }

    private static string[] DecodeStrings(string what, long count, ReadOnlySpan<byte> data)
    {
        // Every element takes at least its 4-byte length: a count the data can't hold is refused before an array is made for it.
        if (count * 4 > data.Length)
        {
            throw new InvalidDataException($"{what}: {count} BYTES elements take at least {count * 4} bytes (a 4-byte length each), but its binary data has {data.Length}.");
        }

        var values = new string[count];
        var at = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (data.Length - at < 4)
            {
                throw new InvalidDataException($"{what}: BYTES element {i} needs a 4-byte length at byte {at}, but its binary data ends at byte {data.Length}.");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[at..]);
            at += 4;
            if (length > (uint)(data.Length - at))
            {
                throw new InvalidDataException($"{what}: BYTES element {i} declares {length} bytes at byte {at}, but {data.Length - at} remain.");
            }

            var bytes = data.Slice(at, (int)length);
            if (!Utf8.IsValid(bytes)) throw new InvalidDataException($"{what}: BYTES element {i} is not valid UTF-8; string tensors hold UTF-8 text.");
            values[i] = Encoding.UTF8.GetString(bytes);
            at += (int)length;
        }

        if (at != data.Length)
        {
            throw new InvalidDataException($"{what}: its {count} BYTES elements end at byte {at}, but its binary data has {data.Length} bytes.");
        }

        return values;
    }
}
