using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace InProcServe.AspNetCore;

/// <summary>
/// Reads an infer request (REST JSON with or without binary tensors, or gRPC) into tensors checked against the model's
/// signature. Every problem is an <see cref="InferenceError"/> naming the tensor, what the model expects and what came;
/// limits are checked before anything is allocated for the data. The checks are one set for every transport.
/// </summary>
internal static partial class InferenceRequestReader
{
    /// <summary>The request, read and checked; <see cref="BinaryOutputs"/> are the outputs to answer in binary (REST).</summary>
    internal sealed record Request(string? Id, NamedTensor[] Inputs, string[] OutputNames, IReadOnlySet<string> BinaryOutputs, TimeSpan? Timeout) : IDisposable
    {
        public void Dispose()
        {
            foreach (var (_, value) in Inputs) value.Dispose();
        }
    }

    /// <summary>
    /// Reads a REST infer request. Inputs with <c>parameters.binary_data_size</c> take their elements, in order, from
    /// <paramref name="binary"/>: the bytes after the JSON header of a binary body, which they must use up exactly.
    /// </summary>
    internal static Request Read(JsonElement root, ModelSession model, long maxElements, ReadOnlyMemory<byte> binary = default)
    {
        if (root.ValueKind != JsonValueKind.Object) throw InferenceError.BadRequest($"The request body must be a JSON object with \"inputs\", not a JSON {Kind(root)}.");
        string? id = null;
        if (root.TryGetProperty("id", out var idElement))
        {
            id = idElement.ValueKind == JsonValueKind.String ? String(idElement, "\"id\"") : throw InferenceError.BadRequest($"\"id\" must be a string, not a JSON {Kind(idElement)}.");
        }

        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
        {
            throw InferenceError.BadRequest($"The request needs an \"inputs\" array. Model '{model.Name}' takes: {Signature(model.Inputs)}.");
        }

        var used = 0;
        return Build(model, inputsElement.EnumerateArray(), maxElements, (input, read, left) => ReadInput(input, model, read, left, binary, ref used), inputs =>
        {
            if (used != binary.Length)
            {
                throw InferenceError.BadRequest($"The body has {binary.Length} bytes after its JSON header, but the inputs' \"binary_data_size\" add up to {used}.");
            }

            var binaryByDefault = ReadBinaryDataOutput(root);
            var (names, binaryOutputs) = ReadOutputs(root, model, binaryByDefault);
            return new Request(id, inputs, names, binaryOutputs, ReadTimeout(root));
        });
    }

    /// <summary>A read input; the reader of one input, given those read so far and the elements left under the limit.</summary>
    private delegate NamedTensor InputReader<T>(T input, List<NamedTensor> read, long elementsLeft);

    /// <summary>
    /// Reads every input, then checks the set (every model input given, named dimensions agreeing) and finishes the
    /// request; the tensors read are disposed when anything fails.
    /// </summary>
    private static Request Build<T>(ModelSession model, IEnumerable<T> items, long maxElements, InputReader<T> readInput, Func<NamedTensor[], Request> finish)
    {
        var inputs = new List<NamedTensor>();
        try
        {
            long total = 0;
            foreach (var item in items)
            {
                var tensor = readInput(item, inputs, maxElements - total);
                total += tensor.Value.ElementCount;
                inputs.Add(tensor);
            }

            var missing = model.Inputs.Where(i => !inputs.Any(t => t.Name == i.Name)).ToList();
            if (missing.Count > 0)
            {
                throw InferenceError.BadRequest($"Missing {(missing.Count == 1 ? "input" : "inputs")} {Signature(missing)}; model '{model.Name}' needs every input.");
            }

            CheckSymbolicDimensions(model, inputs);
            return finish([.. inputs]);
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
    private static void CheckSymbolicDimensions(ModelSession model, List<NamedTensor> inputs)
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

    /// <summary>The request's <c>parameters</c> object; null when absent.</summary>
    private static JsonElement? Parameters(JsonElement root)
    {
        if (!root.TryGetProperty("parameters", out var parameters)) return null;
        return parameters.ValueKind == JsonValueKind.Object ? parameters : throw InferenceError.BadRequest($"\"parameters\" must be an object, not a JSON {Kind(parameters)}.");
    }

    /// <summary>Triton's schedule parameter <c>parameters.timeout</c>, in microseconds; null when absent.</summary>
    private static TimeSpan? ReadTimeout(JsonElement root)
    {
        if (Parameters(root) is not { } parameters || !parameters.TryGetProperty("timeout", out var timeout)) return null;
        return Timeout(timeout.ValueKind == JsonValueKind.Number && timeout.TryGetInt64(out var microseconds) ? microseconds : null, Text(timeout));
    }

    /// <summary>A deadline of <paramref name="microseconds"/>, checked; <paramref name="text"/> is the value as it came.</summary>
    private static TimeSpan? Timeout(long? microseconds, string text)
    {
        if (microseconds is not { } value || value < 0 || value > MaxTimeoutMicroseconds)
        {
            throw InferenceError.BadRequest($"\"parameters.timeout\" is {text}; it is a whole number of microseconds from 0 (no deadline) to {MaxTimeoutMicroseconds}.");
        }

        return value == 0 ? null : TimeSpan.FromMicroseconds(value);
    }

    /// <summary>Triton's <c>parameters.binary_data_output</c>: every output in binary unless it says otherwise. Default false.</summary>
    private static bool ReadBinaryDataOutput(JsonElement root) =>
        Parameters(root) is { } parameters && parameters.TryGetProperty("binary_data_output", out var value) && Boolean(value, "\"parameters.binary_data_output\"");

    private static bool Boolean(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw InferenceError.BadRequest($"{what} is {Text(value)}; it is true or false."),
    };

    /// <summary>One day: the longest deadline a timer takes without surprises, and far past any sensible call.</summary>
    private const long MaxTimeoutMicroseconds = 86_400_000_000;

    /// <summary>The outputs asked for (all of the model's when none are), and those to answer in binary.</summary>
    private static (string[] Names, IReadOnlySet<string> Binary) ReadOutputs(JsonElement root, ModelSession model, bool binaryByDefault)
    {
        if (!root.TryGetProperty("outputs", out var outputs))
        {
            var all = model.Outputs.Select(o => o.Name).ToArray();
            return (all, binaryByDefault ? all.ToHashSet(StringComparer.Ordinal) : NoOutputs);
        }

        if (outputs.ValueKind != JsonValueKind.Array) throw InferenceError.BadRequest($"\"outputs\" must be an array of {{\"name\": ...}}, not a JSON {Kind(outputs)}.");
        var names = new List<string>();
        var binary = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in outputs.EnumerateArray())
        {
            var name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? String(n, "an output's \"name\"") : throw InferenceError.BadRequest("Each requested output needs a \"name\" string.");
            AddOutput(names, name, model);
            var binaryData = binaryByDefault;
            if (output.TryGetProperty("parameters", out var parameters))
            {
                if (parameters.ValueKind != JsonValueKind.Object) throw InferenceError.BadRequest($"Output '{name}': \"parameters\" must be an object, not a JSON {Kind(parameters)}.");
                if (parameters.TryGetProperty("binary_data", out var value)) binaryData = Boolean(value, $"Output '{name}': \"parameters.binary_data\"");
            }

            if (binaryData) binary.Add(name);
        }

        return ([.. names], binary);
    }

    private static readonly IReadOnlySet<string> NoOutputs = new HashSet<string>();

    /// <summary>Adds a requested output, checked: one the model has, asked for once.</summary>
    private static void AddOutput(List<string> names, string name, ModelSession model)
    {
        if (!model.Outputs.Any(o => o.Name == name)) throw InferenceError.BadRequest($"Unknown output '{Clip(name)}'. Model '{model.Name}' has: {Signature(model.Outputs)}.");
        if (names.Contains(name)) throw InferenceError.BadRequest($"Output '{name}' is requested twice.");
        names.Add(name);
    }

    /// <summary>The model's input of that name, checked: one the model takes, given once, of the model's datatype.</summary>
    private static TensorInfo Input(ModelSession model, string name, string? datatype, List<NamedTensor> read)
    {
        var info = model.Inputs.FirstOrDefault(i => i.Name == name) ?? throw InferenceError.BadRequest($"Unknown input '{Clip(name)}'. Model '{model.Name}' takes: {Signature(model.Inputs)}.");
        if (read.Any(t => t.Name == name)) throw InferenceError.BadRequest($"Input '{name}' is given twice.");
        if (datatype != DataTypes.Name(info.ElementType))
        {
            throw InferenceError.BadRequest($"Input '{name}': datatype {(datatype is null ? "is missing" : $"'{Clip(datatype)}' does not match")}; the model takes {Describe(info)}.");
        }

        return info;
    }

    private static NamedTensor ReadInput(JsonElement input, ModelSession model, List<NamedTensor> read, long elementsLeft, ReadOnlyMemory<byte> binary, ref int used)
    {
        if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            throw InferenceError.BadRequest("Each input needs a \"name\" string, a \"datatype\", a \"shape\" and \"data\".");
        }

        var name = String(nameElement, "an input's \"name\"");
        var datatype = input.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? String(d, $"input '{name}': \"datatype\"") : null;
        var info = Input(model, name, datatype, read);
        var shape = ReadShape(input, info, elementsLeft);
        if (BinaryDataSize(input, name) is { } size)
        {
            if (input.TryGetProperty("data", out _)) throw InferenceError.BadRequest($"Input '{name}': has both \"data\" and \"parameters.binary_data_size\"; its elements come in one or the other.");
            if (size > binary.Length - used)
            {
                throw InferenceError.BadRequest($"Input '{name}': \"binary_data_size\" is {size} from byte {used} of the binary data, but {binary.Length - used} bytes remain ({binary.Length} follow the JSON header).");
            }

            var tensor = Decode(info, shape, binary.Span.Slice(used, size));
            used += size;
            return new NamedTensor(name, tensor);
        }

        var count = shape.Aggregate(1L, (product, dimension) => product * dimension);
        if (!input.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw InferenceError.BadRequest($"Input '{name}': \"data\" must be an array (flat or nested, row-major) of {count} elements, or its elements must be binary (\"parameters\": {{\"binary_data_size\": bytes}}).");
        }

        var elements = new List<JsonElement>((int)Math.Min(count, 1 << 16));
        Flatten(data, elements, count, name);
        if (elements.Count != count)
        {
            throw InferenceError.BadRequest($"Input '{name}': shape {Format(shape)} holds {count} elements, but \"data\" has {elements.Count}.");
        }

        return new NamedTensor(name, Create(info, elements, shape));
    }

    /// <summary>The input's <c>parameters.binary_data_size</c>: its element bytes' length in the binary data; null when absent.</summary>
    private static int? BinaryDataSize(JsonElement input, string name)
    {
        if (!input.TryGetProperty("parameters", out var parameters)) return null;
        if (parameters.ValueKind != JsonValueKind.Object) throw InferenceError.BadRequest($"Input '{name}': \"parameters\" must be an object, not a JSON {Kind(parameters)}.");
        if (!parameters.TryGetProperty("binary_data_size", out var size)) return null;
        return size.ValueKind == JsonValueKind.Number && size.TryGetInt32(out var bytes) && bytes >= 0
            ? bytes
            : throw InferenceError.BadRequest($"Input '{name}': \"binary_data_size\" is {Text(size)}; it is the length in bytes of the input's binary data, a whole number from 0.");
    }

    /// <summary>A tensor from its binary form (REST's binary data or gRPC's raw contents), any mismatch a 400 naming the input.</summary>
    private static TensorValue Decode(TensorInfo info, long[] shape, ReadOnlySpan<byte> data)
    {
        try
        {
            return BinaryTensors.Decode($"Input '{info.Name}'", info.ElementType, shape, data);
        }
        catch (InvalidDataException error)
        {
            throw InferenceError.BadRequest(error.Message);
        }
        catch (NotSupportedException)
        {
            throw InferenceError.BadRequest($"Input '{info.Name}': the model takes {TensorTypeName(info)}, which this server can't hold in a tensor.");
        }
    }

    private static long[] ReadShape(JsonElement input, TensorInfo info, long elementsLeft)
    {
        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw InferenceError.BadRequest($"Input '{info.Name}': \"shape\" must be an array of dimensions; the model takes {Describe(info)}.");
        }

        var shape = new List<long>();
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            shape.Add(Dimension(info, shape.Count, dimension.ValueKind == JsonValueKind.Number && dimension.TryGetInt64(out var size) ? size : null, Text(dimension), elementsLeft));
        }

        return CheckShape(info, shape, elementsLeft);
    }

    /// <summary>One dimension of an input's shape, checked as it is read; <paramref name="text"/> is the value as it came.</summary>
    private static long Dimension(TensorInfo info, int index, long? size, string text, long elementsLeft)
    {
        if (size is not { } value || value < 0)
        {
            throw InferenceError.BadRequest($"Input '{info.Name}': shape dimension {index} is {text}; dimensions are whole numbers, 0 or more.");
        }

        // A dimension past the element limit is refused even beside a zero dimension: ONNX Runtime computes the
        // shape's byte size before it looks at the element count, and that product can overflow.
        if (value > Math.Max(elementsLeft, 0))
        {
            throw new InferenceError(StatusCodes.Status413PayloadTooLarge, $"Input '{info.Name}': shape dimension {index} is {value}, over the limit of {Math.Max(elementsLeft, 0)} elements left for this request.");
        }

        return value;
    }

    /// <summary>An input's whole shape, its dimensions each checked by <see cref="Dimension"/>: the model's rank and fixed dimensions, and the element limit.</summary>
    private static long[] CheckShape(TensorInfo info, List<long> shape, long elementsLeft)
    {
        long count = 1;
        foreach (var size in shape) count = size == 0 || count <= elementsLeft / Math.Max(size, 1) ? count * size : long.MaxValue;
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

    private static InferenceError Element(TensorInfo info, int index, JsonElement element, string expected) => Element(info, index, Text(element), expected);

    private static InferenceError Element(TensorInfo info, int index, string text, string expected) =>
        InferenceError.BadRequest($"Input '{info.Name}': element {index} is {text}; {DataTypes.Name(info.ElementType)} takes {expected}.");

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
