using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// Reads the initializers of an ONNX model's main graph from its protobuf bytes: only what weight sharing
/// needs (name, element type, dimensions, where the raw data lies), with no protobuf library.
/// </summary>
/// <remarks>
/// Field numbers from onnx.proto: ModelProto.graph = 7; GraphProto.initializer = 5; TensorProto.dims = 1,
/// data_type = 2, name = 8, raw_data = 9, data_location = 14 (1: external file). Initializers stored any
/// other way (typed fields, external files, strings) are left out: ONNX Runtime loads those per session.
/// </remarks>
internal static class OnnxInitializerReader
{
    /// <summary>One initializer whose data is a slice of the model bytes.</summary>
    internal readonly record struct Initializer(string Name, TensorElementType ElementType, long[] Shape, int Offset, int Length);

    /// <summary>The main graph's initializers that have raw data.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed protobuf.</exception>
    internal static List<Initializer> Read(ReadOnlySpan<byte> model)
    {
        var initializers = new List<Initializer>();
        var modelReader = new Reader(model, 0, model.Length);
        while (modelReader.Next(out var modelField, out var modelWire))
        {
            if (modelField != 7 || modelWire != WireType.LengthDelimited)
            {
                modelReader.Skip(modelWire);
                continue;
            }

            var (graphStart, graphLength) = modelReader.ReadLengthDelimited();
            var graphReader = new Reader(model, graphStart, graphLength);
            while (graphReader.Next(out var graphField, out var graphWire))
            {
                if (graphField == 5 && graphWire == WireType.LengthDelimited)
                {
                    var (tensorStart, tensorLength) = graphReader.ReadLengthDelimited();
                    if (ReadTensor(model, tensorStart, tensorLength) is { } initializer)
                    {
                        initializers.Add(initializer);
                    }
                }
                else
                {
                    graphReader.Skip(graphWire);
                }
            }
        }

        return initializers;
    }

    private static Initializer? ReadTensor(ReadOnlySpan<byte> model, int start, int length)
    {
        var reader = new Reader(model, start, length);
        var shape = new List<long>();
        var elementType = TensorElementType.Undefined;
        string? name = null;
        (int Start, int Length)? raw = null;
        var external = false;
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, WireType.Varint):
                    shape.Add((long)reader.ReadVarint());
                    break;
                case (1, WireType.LengthDelimited):
                    var (packedStart, packedLength) = reader.ReadLengthDelimited();
                    var packed = new Reader(model, packedStart, packedLength);
                    while (!packed.AtEnd) shape.Add((long)packed.ReadVarint());
                    break;
                case (2, WireType.Varint):
                    elementType = (TensorElementType)(int)reader.ReadVarint();
                    break;
                case (8, WireType.LengthDelimited):
                    var (nameStart, nameLength) = reader.ReadLengthDelimited();
                    name = System.Text.Encoding.UTF8.GetString(model.Slice(nameStart, nameLength));
                    break;
                case (9, WireType.LengthDelimited):
                    raw = reader.ReadLengthDelimited();
                    break;
                case (14, WireType.Varint):
                    external = reader.ReadVarint() == 1;
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        var elementSize = TensorElement.SizeOf(elementType);
        if (name is null || raw is not { } data || external || elementSize == 0)
        {
            return null;
        }

        // A size that disagrees with the shape is ONNX Runtime's to report, not to share.
        var count = 1L;
        foreach (var dimension in shape) count *= dimension;
        return shape.TrueForAll(d => d >= 0) && count * elementSize == data.Length
            ? new Initializer(name, elementType, [.. shape], data.Start, data.Length)
            : null;
    }

    private enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5,
    }

    /// <summary>Walks the fields of one message: <see cref="Next"/>, then read or skip the value.</summary>
    private ref struct Reader(ReadOnlySpan<byte> bytes, int start, int length)
    {
        private readonly ReadOnlySpan<byte> bytes = bytes;
        private readonly int end = start + length;
        private int position = start;

        internal readonly bool AtEnd => position >= end;

        internal bool Next(out int field, out WireType wire)
        {
            if (AtEnd)
            {
                field = 0;
                wire = default;
                return false;
            }

            var tag = ReadVarint();
            field = (int)(tag >> 3);
            wire = (WireType)(tag & 7);
            return true;
        }

        internal ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (position >= end) break;
                var b = bytes[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }

            throw new InvalidDataException("Malformed varint in the model protobuf.");
        }

        internal (int Start, int Length) ReadLengthDelimited()
        {
            var length = ReadVarint();
            if (length > (ulong)(end - position)) throw new InvalidDataException("A protobuf field runs past its message.");
            var start = position;
            position += (int)length;
            return (start, (int)length);
        }

        internal void Skip(WireType wire)
        {
            switch (wire)
            {
                case WireType.Varint: ReadVarint(); break;
                case WireType.Fixed64: Advance(8); break;
                case WireType.LengthDelimited: ReadLengthDelimited(); break;
                case WireType.Fixed32: Advance(4); break;
                default: throw new InvalidDataException($"Unsupported protobuf wire type {(int)wire}.");
            }
        }

        private void Advance(int count)
        {
            if (count > end - position) throw new InvalidDataException("A protobuf field runs past its message.");
            position += count;
        }
    }
}
