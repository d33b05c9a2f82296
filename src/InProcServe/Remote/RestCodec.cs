using System.Buffers;
using System.Collections.Immutable;
using System.Text.Json;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// The Open Inference Protocol's REST form for a batch of a bound contract: the request written straight from the batch's
/// input buffers, the response's outputs written straight into its output buffers, and a model's metadata read into
/// <see cref="TensorInfo"/>s that the contract check compares like a local file's signature. Tensors go as JSON arrays, or
/// with the binary tensor extension as raw little-endian bytes after the JSON (<c>binary_data_size</c>, the length of the
/// JSON in the <c>Inference-Header-Content-Length</c> header), the layout of <see cref="BinaryTensors"/>.
/// </summary>
/// <remarks>
/// Floats that JSON can't hold (NaN, ±infinity) go as the strings "NaN", "Infinity" and "-Infinity", as System.Text.Json's
/// named literals write them and InProcServe's server reads them. Data may come flat or nested, as the protocol allows.
/// </remarks>
internal static unsafe class RestCodec
{
    /// <summary>Writes an infer request for the first <paramref name="rows"/> rows, asking for <paramref name="outputs"/> by name.</summary>
    /// <param name="body">Receives the request body.</param>
    /// <param name="inputs">Every model input with its buffer.</param>
    /// <param name="outputs">The outputs to ask for.</param>
    /// <param name="rows">The rows to send.</param>
    /// <param name="binary">Send the inputs, and ask for the outputs, as binary tensors.</param>
    /// <returns>The length of the JSON part, for the <c>Inference-Header-Content-Length</c> header of a binary request.</returns>
    internal static int WriteRequest(ArrayBufferWriter<byte> body, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs, int rows, bool binary)
    {
        using (var json = new Utf8JsonWriter(body))
        {
            WriteHeader(json, inputs, outputs, rows, binary);
        }

        var headerLength = body.WrittenCount;
        if (binary)
        {
            foreach (var (_, buffer) in inputs)
            {
                var bytes = new ReadOnlySpan<byte>(buffer.Data, rows * buffer.BytesPerRow);
                bytes.CopyTo(body.GetSpan(bytes.Length));
                body.Advance(bytes.Length);
            }
        }

        return headerLength;
    }

    private static void WriteHeader(Utf8JsonWriter json, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs, int rows, bool binary)
    {
        json.WriteStartObject();
        json.WriteStartArray("inputs");
        foreach (var (name, buffer) in inputs)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteStartArray("shape");
            json.WriteNumberValue(rows);
            foreach (var dimension in buffer.RowDimensions) json.WriteNumberValue(dimension);
            json.WriteEndArray();
            json.WriteString("datatype", DataTypes.Name(buffer.ElementType));
            if (binary)
            {
                json.WriteStartObject("parameters");
                json.WriteNumber("binary_data_size", rows * buffer.BytesPerRow);
                json.WriteEndObject();
            }
            else
            {
                json.WriteStartArray("data");
                WriteData(json, buffer, rows * buffer.RowLength);
                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("outputs");
        foreach (var (name, _) in outputs)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            if (binary)
            {
                json.WriteStartObject("parameters");
                json.WriteBoolean("binary_data", true);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Reads an infer response into the output buffers, checking each output's datatype and shape against them.</summary>
    /// <param name="response">The response's JSON.</param>
    /// <param name="binary">The binary tensors after the JSON, in the order of the outputs that have a <c>binary_data_size</c>; empty for a JSON response.</param>
    /// <param name="outputs">The outputs asked for, with their buffers.</param>
    /// <param name="rows">The rows the request sent.</param>
    /// <param name="model">The model and where it runs, for messages.</param>
    /// <exception cref="InvalidDataException">The response is not an infer response, lacks an output, or an output's datatype or shape is not what the contract expects.</exception>
    internal static void ReadResponse(ReadOnlyMemory<byte> response, ReadOnlySpan<byte> binary, (string Name, TensorBuffer Buffer)[] outputs, int rows, string model)
    {
        using var document = Parse(response, model, "infer response");
        if (!document.RootElement.TryGetProperty("outputs", out var answered) || answered.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"Model {model}: the infer response has no \"outputs\" array: {Excerpt(response)}");
        }

        foreach (var (name, buffer) in outputs)
        {
            JsonElement? found = null;
            long offset = 0, size = -1, at = 0;
            foreach (var output in answered.EnumerateArray())
            {
                // Binary outputs lie after the JSON one after the other: an output's bytes start where the ones before it end.
                var binarySize = output.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object &&
                                 parameters.TryGetProperty("binary_data_size", out var s) && s.TryGetInt64(out var length) ? length : -1;
                if (found is null && output.TryGetProperty("name", out var n) && n.ValueEquals(name))
                {
                    found = output;
                    offset = at;
                    size = binarySize;
                }

                if (binarySize > 0) at += binarySize;
            }

            if (found is not { } tensor)
            {
                throw new InvalidDataException($"Model {model}: the infer response lacks output '{name}', which the contract reads; it holds {string.Join(", ", answered.EnumerateArray().Select(o => o.TryGetProperty("name", out var n) ? n.GetString() : "?"))}.");
            }

            if (at > binary.Length)
            {
                throw new InvalidDataException($"Model {model}: the infer response's outputs announce {at} binary bytes after the JSON, but {binary.Length} came.");
            }

            ReadOutput(tensor, name, buffer, rows, model, size >= 0, size < 0 ? default : binary.Slice((int)offset, (int)size));
        }
    }

    /// <summary>Reads a model metadata response: its inputs and outputs as the contract check sees them, and its versions.</summary>
    /// <exception cref="InvalidDataException">The response is not model metadata.</exception>
    internal static RemoteMetadata ReadMetadata(ReadOnlyMemory<byte> response, string model)
    {
        using var document = Parse(response, model, "model metadata");
        var root = document.RootElement;
        var versions = root.TryGetProperty("versions", out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToArray()
            : [];
        return new RemoteMetadata(Tensors(root, "inputs", model, response), Tensors(root, "outputs", model, response), versions);
    }

    private static TensorInfo[] Tensors(JsonElement root, string role, string model, ReadOnlyMemory<byte> response)
    {
        if (!root.TryGetProperty(role, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"Model {model}: the model metadata has no \"{role}\" array: {Excerpt(response)}");
        }

        return list.EnumerateArray().Select(tensor =>
        {
            var name = tensor.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw new InvalidDataException($"Model {model}: a tensor of the metadata's \"{role}\" has no name: {tensor.GetRawText()}");
            var datatype = tensor.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
            var shape = tensor.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array
                ? s.EnumerateArray().Select(e => e.TryGetInt64(out var size) ? size : -1).ToImmutableArray()
                : throw new InvalidDataException($"Model {model}: the metadata's {role[..^1]} '{name}' has no shape: {tensor.GetRawText()}");
            // A datatype the protocol does not define (or BYTES, which contracts don't hold) shows as a type no contract matches.
            var type = OipDataTypes.Parse(datatype) ?? TensorElementType.Undefined;
            return new TensorInfo(name, type, shape, shape.Select(_ => (string?)null).ToImmutableArray());
        }).ToArray();
    }

    private static void ReadOutput(JsonElement tensor, string name, TensorBuffer buffer, int rows, string model, bool isBinary, ReadOnlySpan<byte> raw)
    {
        var expected = DataTypes.Name(buffer.ElementType);
        var datatype = tensor.TryGetProperty("datatype", out var d) ? d.GetString() : null;
        var shape = tensor.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array
            ? s.EnumerateArray().Select(e => e.TryGetInt64(out var size) ? size : -1).ToArray()
            : [];
        var rowLength = shape.Length == 0 ? -1 : shape.AsSpan(1).ToArray().Aggregate(1L, (product, size) => product * size);
        if (datatype != expected || shape.Length == 0 || shape[0] != rows || rowLength != buffer.RowLength)
        {
            throw new InvalidDataException(
                $"Model {model}: output '{name}' came as {datatype ?? "(no datatype)"}[{string.Join(",", shape)}]; the contract reads {expected}[{rows}{string.Concat(buffer.RowDimensions.Select(x => "," + x))}] ({buffer.RowLength} elements a row).");
        }

        if (isBinary)
        {
            if (raw.Length != rows * buffer.BytesPerRow)
            {
                throw new InvalidDataException($"Model {model}: output '{name}' came as {raw.Length} binary bytes; its shape [{string.Join(",", shape)}] of {expected} takes {rows * buffer.BytesPerRow}.");
            }

            raw.CopyTo(new Span<byte>(buffer.Data, raw.Length));
            return;
        }

        if (!tensor.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"Model {model}: output '{name}' has neither a \"data\" array nor a binary_data_size.");
        }

        var count = rows * buffer.RowLength;
        var written = ReadData(data, buffer, 0, count, name, model);
        if (written != count)
        {
            throw new InvalidDataException($"Model {model}: output '{name}' of shape [{string.Join(",", shape)}] holds {written} elements; it must hold {count}.");
        }
    }

    /// <summary>Writes the flat, nested or mixed elements of <paramref name="data"/> from element <paramref name="at"/>; returns where it ended.</summary>
    private static int ReadData(JsonElement data, TensorBuffer buffer, int at, int count, string name, string model)
    {
        foreach (var element in data.EnumerateArray())
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                at = ReadData(element, buffer, at, count, name, model);
                continue;
            }

            if (at >= count)
            {
                throw new InvalidDataException($"Model {model}: output '{name}' holds more than the {count} elements its shape says.");
            }

            if (!TryRead(element, buffer, at))
            {
                throw new InvalidDataException($"Model {model}: element {at} of output '{name}' is {element.GetRawText()}; it must be a {DataTypes.Name(buffer.ElementType)} value.");
            }

            at++;
        }

        return at;
    }

    private static bool TryRead(JsonElement element, TensorBuffer buffer, int at)
    {
        var data = buffer.Data;
        switch (buffer.ElementType)
        {
            case TensorElementType.Float:
                if (!TryFloat(element, out var f)) return false;
                ((float*)data)[at] = (float)f;
                return true;
            case TensorElementType.Double:
                if (!TryFloat(element, out var x)) return false;
                ((double*)data)[at] = x;
                return true;
            case TensorElementType.Float16:
                if (!TryFloat(element, out var h)) return false;
                ((Half*)data)[at] = (Half)h;
                return true;
            case TensorElementType.Bool:
                if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return false;
                ((bool*)data)[at] = element.GetBoolean();
                return true;
            case TensorElementType.Int8: return element.TryGetSByte(out ((sbyte*)data)[at]);
            case TensorElementType.Int16: return element.TryGetInt16(out ((short*)data)[at]);
            case TensorElementType.Int32: return element.TryGetInt32(out ((int*)data)[at]);
            case TensorElementType.Int64: return element.TryGetInt64(out ((long*)data)[at]);
            case TensorElementType.UInt8: return element.TryGetByte(out ((byte*)data)[at]);
            case TensorElementType.UInt16: return element.TryGetUInt16(out ((ushort*)data)[at]);
            case TensorElementType.UInt32: return element.TryGetUInt32(out ((uint*)data)[at]);
            case TensorElementType.UInt64: return element.TryGetUInt64(out ((ulong*)data)[at]);
            default: return false;
        }
    }

    /// <summary>A float from a number, or from the strings JSON writers use for NaN and the infinities.</summary>
    private static bool TryFloat(JsonElement element, out double value)
    {
        if (element.ValueKind == JsonValueKind.Number) return element.TryGetDouble(out value);
        value = element.ValueKind != JsonValueKind.String ? 0 : element.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            _ => 0,
        };
        return element.ValueKind == JsonValueKind.String && (double.IsNaN(value) || double.IsInfinity(value));
    }

    private static void WriteData(Utf8JsonWriter json, TensorBuffer buffer, int count)
    {
        var data = buffer.Data;
        switch (buffer.ElementType)
        {
            case TensorElementType.Float: foreach (var v in new ReadOnlySpan<float>(data, count)) WriteFloat(json, v, float.IsFinite(v)); break;
            case TensorElementType.Double: foreach (var v in new ReadOnlySpan<double>(data, count)) WriteFloat(json, v, double.IsFinite(v)); break;
            case TensorElementType.Float16: foreach (var v in new ReadOnlySpan<Half>(data, count)) WriteFloat(json, (float)v, Half.IsFinite(v)); break;
            case TensorElementType.Bool: foreach (var v in new ReadOnlySpan<bool>(data, count)) json.WriteBooleanValue(v); break;
            case TensorElementType.Int8: foreach (var v in new ReadOnlySpan<sbyte>(data, count)) json.WriteNumberValue(v); break;
            case TensorElementType.Int16: foreach (var v in new ReadOnlySpan<short>(data, count)) json.WriteNumberValue(v); break;
            case TensorElementType.Int32: foreach (var v in new ReadOnlySpan<int>(data, count)) json.WriteNumberValue(v); break;
            case TensorElementType.Int64: foreach (var v in new ReadOnlySpan<long>(data, count)) json.WriteNumberValue(v); break;
            case TensorElementType.UInt8: foreach (var v in new ReadOnlySpan<byte>(data, count)) json.WriteNumberValue(v); break;
            case TensorElementType.UInt16: foreach (var v in new ReadOnlySpan<ushort>(data, count)) json.WriteNumberValue(v); break;
            case TensorElementType.UInt32: foreach (var v in new ReadOnlySpan<uint>(data, count)) json.WriteNumberValue(v); break;
            case TensorElementType.UInt64: foreach (var v in new ReadOnlySpan<ulong>(data, count)) json.WriteNumberValue(v); break;
            default: throw new InvalidOperationException($"Input '{buffer.Name}' holds {TensorElement.Name(buffer.ElementType)}, which the Open Inference Protocol's JSON form does not carry.");
        }
    }

    /// <summary>Writes a float32 with its shortest round-trip digits, a float64 with its own; NaN and the infinities as strings.</summary>
    private static void WriteFloat(Utf8JsonWriter json, float value, bool finite)
    {
        if (finite) json.WriteNumberValue(value);
        else json.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    private static void WriteFloat(Utf8JsonWriter json, double value, bool finite)
    {
        if (finite) json.WriteNumberValue(value);
        else json.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> body, string model, string what)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"Model {model}: the {what} is not JSON ({error.Message}): {Excerpt(body)}", error);
        }
    }

    /// <summary>The start of a body, for messages.</summary>
    internal static string Excerpt(ReadOnlyMemory<byte> body)
    {
        var text = System.Text.Encoding.UTF8.GetString(body.Span[..Math.Min(body.Length, 300)]);
        return body.Length > 300 ? text + "…" : text;
    }

    /// <summary>The "error" of an error response, or the body's start when it has none.</summary>
    internal static string ErrorOf(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                return error.ValueKind == JsonValueKind.String ? error.GetString()! : error.GetRawText();
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's page): show the text.
        }

        return body.IsEmpty ? "(no body)" : Excerpt(body);
    }
}
