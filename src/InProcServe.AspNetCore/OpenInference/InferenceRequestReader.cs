using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace InProcServe.AspNetCore;

/// <summary>
/// Reads an infer request's JSON into tensors checked against the model's signature. Every problem is an
/// <see cref="InferenceError"/> naming the tensor, what the model expects and what came; limits are checked
/// before anything is allocated for the data.
/// </summary>
internal static class InferenceRequestReader
{
    /// <summary>The request, read and checked.</summary>
    internal sealed record Request(string? Id, NamedTensor[] Inputs, string[] OutputNames, TimeSpan? Timeout) : IDisposable
    {
        public void Dispose()
        {
            foreach (var (_, value) in Inputs) value.Dispose();
        }
    }

    internal static Request Read(JsonElement root, ModelSignature model, long maxElements)
    {
        if (root.ValueKind != JsonValueKind.Object) throw InferenceError.BadRequest($"The request body must be a JSON object with \"inputs\", not a JSON {Kind(root)}.");
        string? id = null;
        if (root.TryGetProperty("id", out var idElement))
        {
            id = idElement.ValueKind == JsonValueKind.String ? String(idElement, "\"id\"") : throw InferenceError.BadRequest($"\"id\" must be a string, not a JSON {Kind(idElement)}.");
        }

        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
        {
            throw InferenceError.BadRequest($"The request needs an \"inputs\" array. Model '{model.Model}' takes: {Signature(model.Inputs)}.");
        }

        var inputs = new List<NamedTensor>();
        try
        {
            long total = 0;
            foreach (var input in inputsElement.EnumerateArray())
            {
                var tensor = ReadInput(input, model, inputs, maxElements - total);
                total += tensor.Value.ElementCount;
                inputs.Add(tensor);
            }

            var missing = model.Inputs.Where(i => !inputs.Any(t => t.Name == i.Name)).ToList();
            if (missing.Count > 0)
            {
                throw InferenceError.BadRequest($"Missing {(missing.Count == 1 ? "input" : "inputs")} {Signature(missing)}; model '{model.Model}' needs every input.");
            }

            CheckSymbolicDimensions(model, inputs);
            return new Request(id, [.. inputs], ReadOutputs(root, model), ReadTimeout(root));
        }
        catch
        {
            foreach (var (_, value) in inputs) value.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Inputs that share a named dimension ("batch") must agree on its size. ONNX Runtime would refuse some such
    /// requests only while running, and run others into outputs that mix both sizes; checked here, the client hears which.
    /// </summary>
    private static void CheckSymbolicDimensions(ModelSignature model, List<NamedTensor> inputs)
    {
        var seen = new Dictionary<string, (string Input, long Size)>(StringComparer.Ordinal);
        foreach (var (name, value) in inputs)
        {
            var info = model.Inputs.First(i => i.Name == name);
            for (var i = 0; i < info.DimensionNames.Length && i < value.Shape.Length; i++)
            {
                if (info.Shape[i] >= 0 || info.DimensionNames[i] is not { } symbol) continue;
                if (!seen.TryGetValue(symbol, out var first))
                {
                    seen[symbol] = (name, value.Shape[i]);
                }
                else if (first.Size != value.Shape[i])
                {
                    throw InferenceError.BadRequest($"Input '{name}': dimension {i} ('{symbol}') is {value.Shape[i]}, but input '{first.Input}' gives '{symbol}' as {first.Size}; inputs sharing a named dimension must agree.");
                }
            }
        }
    }

    /// <summary>Triton's schedule parameter <c>parameters.timeout</c>, in microseconds; null when absent.</summary>
    private static TimeSpan? ReadTimeout(JsonElement root)
    {
        if (!root.TryGetProperty("parameters", out var parameters)) return null;
        if (parameters.ValueKind != JsonValueKind.Object) throw InferenceError.BadRequest($"\"parameters\" must be an object, not a JSON {Kind(parameters)}.");
        if (!parameters.TryGetProperty("timeout", out var timeout)) return null;
        if (timeout.ValueKind != JsonValueKind.Number || !timeout.TryGetInt64(out var microseconds) || microseconds < 0 || microseconds > MaxTimeoutMicroseconds)
        {
            throw InferenceError.BadRequest($"\"parameters.timeout\" is {Text(timeout)}; it is a whole number of microseconds from 0 (no deadline) to {MaxTimeoutMicroseconds}.");
        }

        return microseconds == 0 ? null : TimeSpan.FromMicroseconds(microseconds);
    }

    /// <summary>One day: the longest deadline a timer takes without surprises, and far past any sensible call.</summary>
    private const long MaxTimeoutMicroseconds = 86_400_000_000;

    private static string[] ReadOutputs(JsonElement root, ModelSignature model)
    {
        if (!root.TryGetProperty("outputs", out var outputs))
        {
            return model.Outputs.Select(o => o.Name).ToArray();
        }

        if (outputs.ValueKind != JsonValueKind.Array) throw InferenceError.BadRequest($"\"outputs\" must be an array of {{\"name\": ...}}, not a JSON {Kind(outputs)}.");
        var names = new List<string>();
        foreach (var output in outputs.EnumerateArray())
        {
            var name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? String(n, "an output's \"name\"") : throw InferenceError.BadRequest("Each requested output needs a \"name\" string.");
            if (!model.Outputs.Any(o => o.Name == name)) throw InferenceError.BadRequest($"Unknown output '{Clip(name)}'. Model '{model.Model}' has: {Signature(model.Outputs)}.");
            if (names.Contains(name)) throw InferenceError.BadRequest($"Output '{name}' is requested twice.");
            names.Add(name);
        }

        return [.. names];
    }

    private static NamedTensor ReadInput(JsonElement input, ModelSignature model, List<NamedTensor> read, long elementsLeft)
    {
        if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            throw InferenceError.BadRequest("Each input needs a \"name\" string, a \"datatype\", a \"shape\" and \"data\".");
        }

        var name = String(nameElement, "an input's \"name\"");
        var info = model.Inputs.FirstOrDefault(i => i.Name == name) ?? throw InferenceError.BadRequest($"Unknown input '{Clip(name)}'. Model '{model.Model}' takes: {Signature(model.Inputs)}.");
        if (read.Any(t => t.Name == name)) throw InferenceError.BadRequest($"Input '{name}' is given twice.");
        var expectedType = DataTypes.Name(info.ElementType);
        var datatype = input.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? String(d, $"input '{name}': \"datatype\"") : null;
        if (datatype != expectedType)
        {
            throw InferenceError.BadRequest($"Input '{name}': datatype {(datatype is null ? "is missing" : $"'{datatype}' does not match")}; the model takes {Describe(info)}.");
        }

        var shape = ReadShape(input, info, elementsLeft);
        var count = shape.Aggregate(1L, (product, dimension) => product * dimension);
        if (!input.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw InferenceError.BadRequest($"Input '{name}': \"data\" must be an array (flat or nested, row-major) of {count} elements.");
        }

        var elements = new List<JsonElement>((int)Math.Min(count, 1 << 16));
        Flatten(data, elements, count, name);
        if (elements.Count != count)
        {
            throw InferenceError.BadRequest($"Input '{name}': shape {Format(shape)} holds {count} elements, but \"data\" has {elements.Count}.");
        }

        return new NamedTensor(name, Create(info, elements, shape));
    }

    private static long[] ReadShape(JsonElement input, TensorInfo info, long elementsLeft)
    {
        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw InferenceError.BadRequest($"Input '{info.Name}': \"shape\" must be an array of dimensions; the model takes {Describe(info)}.");
        }

        var shape = new List<long>();
        long count = 1;
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out var size) || size < 0)
            {
                throw InferenceError.BadRequest($"Input '{info.Name}': shape dimension {shape.Count} is {Text(dimension)}; dimensions are whole numbers, 0 or more.");
            }

            // A dimension past the element limit is refused even beside a zero dimension: ONNX Runtime computes the
            // shape's byte size before it looks at the element count, and that product can overflow.
            if (size > Math.Max(elementsLeft, 0))
            {
                throw new InferenceError(StatusCodes.Status413PayloadTooLarge, $"Input '{info.Name}': shape dimension {shape.Count} is {size}, over the limit of {Math.Max(elementsLeft, 0)} elements left for this request.");
            }

            shape.Add(size);
            count = size == 0 || count <= elementsLeft / Math.Max(size, 1) ? count * size : long.MaxValue;
        }

        if (shape.Count != info.Shape.Length)
        {
            throw InferenceError.BadRequest($"Input '{info.Name}': shape {Format(shape)} has rank {shape.Count}; the model takes {Describe(info)} (rank {info.Shape.Length}).");
        }

        for (var i = 0; i < shape.Count; i++)
        {
            if (info.Shape[i] >= 0 && info.Shape[i] != shape[i])
            {
                throw InferenceError.BadRequest($"Input '{info.Name}': shape {Format(shape)} has {shape[i]} in dimension {i}; the model takes {Describe(info)}.");
            }
        }

        if (count > elementsLeft)
        {
            throw new InferenceError(StatusCodes.Status413PayloadTooLarge, $"Input '{info.Name}': shape {Format(shape)} is over the limit of {Math.Max(elementsLeft, 0)} elements left for this request.");
        }

        return [.. shape];
    }

    private static void Flatten(JsonElement data, List<JsonElement> into, long limit, string name)
    {
        foreach (var item in data.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                Flatten(item, into, limit, name);
            }
            else
            {
                if (into.Count >= limit) throw InferenceError.BadRequest($"Input '{name}': \"data\" has more elements than its shape holds ({limit}).");
                into.Add(item);
            }
        }
    }

    private static TensorValue Create(TensorInfo info, List<JsonElement> elements, long[] shape) => info.ElementType switch
    {
        TensorElementType.Float => TensorValue.Create(Floats(info, elements, v => (float)v), shape),
        TensorElementType.Double => TensorValue.Create(Floats(info, elements, v => v), shape),
        TensorElementType.Float16 => TensorValue.Create(Floats(info, elements, v => (Half)v), shape),
        TensorElementType.Int8 => TensorValue.Create(Integers(info, elements, sbyte.MinValue, sbyte.MaxValue, v => (sbyte)v), shape),
        TensorElementType.Int16 => TensorValue.Create(Integers(info, elements, short.MinValue, short.MaxValue, v => (short)v), shape),
        TensorElementType.Int32 => TensorValue.Create(Integers(info, elements, int.MinValue, int.MaxValue, v => (int)v), shape),
        TensorElementType.Int64 => TensorValue.Create(Integers(info, elements, long.MinValue, long.MaxValue, v => v), shape),
        TensorElementType.UInt8 => TensorValue.Create(Integers(info, elements, 0, byte.MaxValue, v => (byte)v), shape),
        TensorElementType.UInt16 => TensorValue.Create(Integers(info, elements, 0, ushort.MaxValue, v => (ushort)v), shape),
        TensorElementType.UInt32 => TensorValue.Create(Integers(info, elements, 0, uint.MaxValue, v => (uint)v), shape),
        TensorElementType.UInt64 => TensorValue.Create(UInt64s(info, elements), shape),
        TensorElementType.Bool => TensorValue.Create(Bools(info, elements), shape),
        TensorElementType.String => TensorValue.CreateStrings(Strings(info, elements), shape),
        _ => throw InferenceError.BadRequest($"Input '{info.Name}': the model takes {TensorTypeName(info)}, which this endpoint can't read from JSON."),
    };

    private static T[] Floats<T>(TensorInfo info, List<JsonElement> elements, Func<double, T> convert)
    {
        var values = new T[elements.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = convert(ReadFloat(info, i, elements[i]));
        }

        return values;
    }

    /// <summary>
    /// A number, or NaN and the infinities spelled as System.Text.Json's AllowNamedFloatingPointLiterals spells them
    /// (JSON has no literal for them): "NaN", "Infinity", "-Infinity". A number too large for a double is refused
    /// rather than made infinite.
    /// </summary>
    private static double ReadFloat(TensorInfo info, int index, JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var value) && double.IsFinite(value)) return value;
        if (element.ValueKind == JsonValueKind.String)
        {
            if (element.ValueEquals("NaN"u8)) return double.NaN;
            if (element.ValueEquals("Infinity"u8)) return double.PositiveInfinity;
            if (element.ValueEquals("-Infinity"u8)) return double.NegativeInfinity;
        }

        throw Element(info, index, element, "a finite number, \"NaN\", \"Infinity\" or \"-Infinity\"");
    }

    private static T[] Integers<T>(TensorInfo info, List<JsonElement> elements, long min, long max, Func<long, T> convert)
    {
        var values = new T[elements.Count];
        for (var i = 0; i < values.Length; i++)
        {
            if (elements[i].ValueKind != JsonValueKind.Number || !elements[i].TryGetInt64(out var value) || value < min || value > max)
            {
                throw Element(info, i, elements[i], $"a whole number from {min} to {max}");
            }

            values[i] = convert(value);
        }

        return values;
    }

    private static ulong[] UInt64s(TensorInfo info, List<JsonElement> elements)
    {
        var values = new ulong[elements.Count];
        for (var i = 0; i < values.Length; i++)
        {
            if (elements[i].ValueKind != JsonValueKind.Number || !elements[i].TryGetUInt64(out values[i]))
            {
                throw Element(info, i, elements[i], $"a whole number from 0 to {ulong.MaxValue}");
            }
        }

        return values;
    }

    private static bool[] Bools(TensorInfo info, List<JsonElement> elements)
    {
        var values = new bool[elements.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = elements[i].ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Element(info, i, elements[i], "true or false"),
            };
        }

        return values;
    }

    private static string[] Strings(TensorInfo info, List<JsonElement> elements)
    {
        var values = new string[elements.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = elements[i].ValueKind == JsonValueKind.String ? String(elements[i], $"input '{info.Name}': element {i}") : throw Element(info, i, elements[i], "a string");
        }

        return values;
    }

    private static InferenceError Element(TensorInfo info, int index, JsonElement element, string expected) =>
        InferenceError.BadRequest($"Input '{info.Name}': element {index} is {Text(element)}; {DataTypes.Name(info.ElementType)} takes {expected}.");

    /// <summary>
    /// A JSON string as .NET text. The body was checked to be UTF-8, but an escape can still name half a surrogate
    /// pair (<c>"\ud800"</c>), which no .NET string can hold: that is the client's mistake, named as such.
    /// </summary>
    private static string String(JsonElement element, string what)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw InferenceError.BadRequest($"{char.ToUpperInvariant(what[0])}{what[1..]} is not valid Unicode text: an escape names half of a surrogate pair.");
        }
    }

    /// <summary>A name the model doesn't know, cut to 64 characters: an error never echoes a 16 MiB name back.</summary>
    private static string Clip(string name) => name.Length > 64 ? name[..64] + "…" : name;

    /// <summary>A value as the client sent it, cut to 40 characters: enough to find it, never a whole body echoed back.</summary>
    private static string Text(JsonElement element)
    {
        var text = element.GetRawText();
        return text.Length > 40 ? text[..40] + "…" : text;
    }

    private static string Describe(TensorInfo info) => $"{DataTypes.Name(info.ElementType) ?? TensorTypeName(info)} {Format(info.Shape)}";

    private static string TensorTypeName(TensorInfo info) => info.TypeAndShape;

    private static string Signature(IEnumerable<TensorInfo> tensors) => string.Join(", ", tensors.Select(t => $"'{t.Name}' {Describe(t)}"));

    private static string Format(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";

    private static string Kind(JsonElement element) => element.ValueKind.ToString().ToLowerInvariant();
}
