using System.Text.Json;

namespace InProcServe.AspNetCore;

/// <summary>
/// Writes an infer response: the requested outputs as flat row-major JSON data, or, for outputs answered in binary,
/// their byte length (<c>parameters.binary_data_size</c>), their bytes to follow the JSON in the order of the outputs.
/// </summary>
internal static class InferenceResponseWriter
{
    /// <param name="json">Where to write.</param>
    /// <param name="modelName">The model's name.</param>
    /// <param name="modelVersion">The version that answered.</param>
    /// <param name="id">The request's id, if it had one.</param>
    /// <param name="outputs">The outputs.</param>
    /// <param name="binary">Per output, its binary form to announce instead of writing its data; null entries (or none) for JSON.</param>
    internal static void Write(Utf8JsonWriter json, string modelName, string? modelVersion, string? id, RunOutputs outputs, IReadOnlyList<byte[]?>? binary = null)
    {
        json.WriteStartObject();
        json.WriteString("model_name", modelName);
        if (modelVersion is not null) json.WriteString("model_version", modelVersion);
        if (id is not null) json.WriteString("id", id);
        json.WriteStartArray("outputs");
        for (var i = 0; i < outputs.Count; i++)
        {
            var (name, value) = outputs[i];
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("datatype", DataTypes.Name(value.ElementType));
            json.WriteStartArray("shape");
            foreach (var dimension in value.Shape) json.WriteNumberValue(dimension);
            json.WriteEndArray();
            if (binary?[i] is { } bytes)
            {
                json.WriteStartObject("parameters");
                json.WriteNumber("binary_data_size", bytes.Length);
                json.WriteEndObject();
            }
            else
            {
                json.WritePropertyName("data");
                WriteData(json, value);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteData(Utf8JsonWriter json, TensorValue value)
    {
        json.WriteStartArray();
        switch (value.ElementType)
        {
            case TensorElementType.Float: foreach (var v in value.GetSpan<float>()) WriteFloat(json, v); break;
            case TensorElementType.Double: foreach (var v in value.GetSpan<double>()) WriteFloat(json, v); break;
            case TensorElementType.Float16: foreach (var v in value.GetSpan<Half>()) WriteFloat(json, (double)v); break;
            case TensorElementType.Int8: foreach (var v in value.GetSpan<sbyte>()) json.WriteNumberValue(v); break;
            case TensorElementType.Int16: foreach (var v in value.GetSpan<short>()) json.WriteNumberValue(v); break;
            case TensorElementType.Int32: foreach (var v in value.GetSpan<int>()) json.WriteNumberValue(v); break;
            case TensorElementType.Int64: foreach (var v in value.GetSpan<long>()) json.WriteNumberValue(v); break;
            case TensorElementType.UInt8: foreach (var v in value.GetSpan<byte>()) json.WriteNumberValue(v); break;
            case TensorElementType.UInt16: foreach (var v in value.GetSpan<ushort>()) json.WriteNumberValue(v); break;
            case TensorElementType.UInt32: foreach (var v in value.GetSpan<uint>()) json.WriteNumberValue(v); break;
            case TensorElementType.UInt64: foreach (var v in value.GetSpan<ulong>()) json.WriteNumberValue(v); break;
            case TensorElementType.Bool: foreach (var v in value.GetSpan<bool>()) json.WriteBooleanValue(v); break;
            case TensorElementType.String: foreach (var v in value.GetStrings()) json.WriteStringValue(v); break;
            default: throw new InvalidOperationException($"Output of type {value} can't be written as JSON.");
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// JSON has no NaN or infinity: they are written as the strings System.Text.Json's AllowNamedFloatingPointLiterals
    /// writes ("NaN", "Infinity", "-Infinity"), which the request reader takes back, so the three stay apart.
    /// </summary>
    private static void WriteFloat(Utf8JsonWriter json, double value)
    {
        if (double.IsFinite(value)) json.WriteNumberValue(value);
        else WriteNamed(json, double.IsNaN(value), double.IsPositiveInfinity(value));
    }

    private static void WriteFloat(Utf8JsonWriter json, float value)
    {
        if (float.IsFinite(value)) json.WriteNumberValue(value);
        else WriteNamed(json, float.IsNaN(value), float.IsPositiveInfinity(value));
    }

    private static void WriteNamed(Utf8JsonWriter json, bool nan, bool positive) =>
        json.WriteStringValue(nan ? "NaN"u8 : positive ? "Infinity"u8 : "-Infinity"u8);
}
