namespace InProcServe.Tests.TestSupport;

/// <summary>Edits of an ONNX file's top-level <c>ModelProto</c> fields, read as raw protocol buffers.</summary>
internal static class OnnxFile
{
    /// <summary>The model without its <c>model_version</c> (field 5): a file that names no version.</summary>
    internal static byte[] WithoutModelVersion(byte[] model)
    {
        const int ModelVersionField = 5;
        using var kept = new MemoryStream();
        var position = 0;
        while (position < model.Length)
        {
            var start = position;
            var tag = ReadVarint(model, ref position);
            switch ((int)(tag & 7))
            {
                case 0: ReadVarint(model, ref position); break;
                case 1: position += 8; break;
                case 2:
                    var length = checked((int)ReadVarint(model, ref position));
                    position += length;
                    break;
                case 5: position += 4; break;
                default: throw new InvalidDataException($"Wire type {tag & 7} at byte {start}: not a protocol buffer field this edit knows.");
            }

            if ((int)(tag >> 3) != ModelVersionField) kept.Write(model, start, position - start);
        }

        return kept.ToArray();
    }

    private static ulong ReadVarint(byte[] bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }
}
