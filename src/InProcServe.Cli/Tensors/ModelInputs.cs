using System.Globalization;
using System.Text.Json;

namespace InProcServe.Cli;

/// <summary>
/// Inputs for a model's signature, generated or read from a file: what perf and quantize run the model on.
/// </summary>
internal static class ModelInputs
{
    /// <summary>
    /// Parses <c>--shape NAME=d0,d1,…</c> options: the full shape of an input, whose first dimension the batch size replaces
    /// when the model leaves it dynamic.
    /// </summary>
    /// <exception cref="CliException">An option is not of that form.</exception>
    internal static Dictionary<string, long[]> ParseShapes(IEnumerable<string> options)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var option in options)
        {
            var equals = option.LastIndexOf('=');
            long[]? dims = null;
            if (equals > 0)
            {
                var parts = option[(equals + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                dims = parts.All(p => long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    ? [.. parts.Select(p => long.Parse(p, CultureInfo.InvariantCulture))]
                    : null;
            }

            if (dims is null) throw new CliException($"--shape '{option}': expected NAME=d0,d1,… with non-negative integer dimensions, such as --shape input=1,512.");
            shapes[option[..equals]] = dims;
        }

        return shapes;
    }

    /// <summary>
    /// Generates one input of <paramref name="batch"/> rows per model input, seeded so runs are repeatable: floats uniform
    /// in [-1, 1), integers in [0, 10), random bools, short strings.
    /// </summary>
    /// <exception cref="CliException">A dimension other than the first is dynamic and no <c>--shape</c> gives it, or a shape names no input.</exception>
    internal static Dictionary<string, HostTensor> Generate(ModelSession session, int batch, IReadOnlyDictionary<string, long[]> shapes, int seed = 42)
    {
        foreach (var name in shapes.Keys)
        {
            if (!session.Inputs.Any(i => i.Name == name))
            {
                throw new CliException($"--shape names '{name}', but the model's inputs are {string.Join(", ", session.Inputs.Select(i => $"'{i.Name}'"))}.");
            }
        }

        var random = new Random(seed);
        var inputs = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var input in session.Inputs)
        {
            var shape = Resolve(input, batch, shapes.GetValueOrDefault(input.Name));
            inputs[input.Name] = Fill(input.ElementType, shape, random, input.Name);
        }

        return inputs;
    }

    /// <summary>The concrete shape of a model input: the <c>--shape</c> given or the model's, with a dynamic first dimension set to the batch size.</summary>
    private static long[] Resolve(TensorInfo input, int batch, long[]? given)
    {
        if (given is not null && given.Length != input.Shape.Length)
        {
            throw new CliException($"--shape {input.Name}={string.Join(",", given)} has rank {given.Length}, but input {input.Name}: {TensorText.TypeName(input.ElementType)}{TensorText.Shape(input)} has rank {input.Shape.Length}.");
        }

        var shape = new long[input.Shape.Length];
        for (var d = 0; d < shape.Length; d++)
        {
            var model = input.Shape[d];
            if (d == 0 && model < 0) shape[d] = batch;
            else if (given is not null) shape[d] = given[d];
            else if (model >= 0) shape[d] = model;
            else
            {
                throw new CliException(
                    $"Input {input.Name}: {TensorText.TypeName(input.ElementType)}{TensorText.Shape(input)} has a dynamic dimension {d} ('{input.DimensionNames[d] ?? "?"}') " +
                    $"that only the caller knows: give the input's shape with --shape {input.Name}=…, or inputs with --input-data FILE.");
            }

            if (given is not null && model >= 0 && shape[d] != model)
            {
                throw new CliException($"--shape {input.Name}: dimension {d} is {shape[d]}, but the model fixes it at {model}.");
            }
        }

        return shape;
    }

    private static HostTensor Fill(TensorElementType type, long[] shape, Random random, string name)
    {
        var count = checked((int)shape.Aggregate(1L, (product, d) => product * d));
        Array data = type switch
        {
            TensorElementType.Float => Make(count, () => (float)(random.NextDouble() * 2 - 1)),
            TensorElementType.Double => Make(count, () => random.NextDouble() * 2 - 1),
            TensorElementType.Float16 => Make(count, () => (Half)(random.NextDouble() * 2 - 1)),
            TensorElementType.Int8 => Make(count, () => (sbyte)random.Next(10)),
            TensorElementType.Int16 => Make(count, () => (short)random.Next(10)),
            TensorElementType.Int32 => Make(count, () => random.Next(10)),
            TensorElementType.Int64 => Make(count, () => (long)random.Next(10)),
            TensorElementType.UInt8 => Make(count, () => (byte)random.Next(10)),
            TensorElementType.UInt16 => Make(count, () => (ushort)random.Next(10)),
            TensorElementType.UInt32 => Make(count, () => (uint)random.Next(10)),
            TensorElementType.UInt64 => Make(count, () => (ulong)random.Next(10)),
            TensorElementType.Bool => Make(count, () => random.Next(2) == 1),
            TensorElementType.String => Make(count, () => "text " + random.Next(100).ToString(CultureInfo.InvariantCulture)),
            _ => throw new CliException($"Input '{name}' holds {TensorText.TypeName(type)}, which the tool can't generate."),
        };
        return new HostTensor(type, shape, data);
    }

    private static T[] Make<T>(int count, Func<T> next)
    {
        var values = new T[count];
        for (var i = 0; i < count; i++) values[i] = next();
        return values;
    }

    /// <summary>
    /// Reads inputs from a JSON file: a models/*.reference.json file (the inputs of its first case) or
    /// <c>{"inputs": {"NAME": {"type": …, "shape": […], "data": […]}}}</c>; every model input must be there.
    /// </summary>
    /// <exception cref="CliException">The file is missing, malformed, or lacks an input or holds one of another type.</exception>
    internal static Dictionary<string, HostTensor> Read(string path, ModelSession session)
    {
        if (!File.Exists(path)) throw new CliException($"The input file '{Path.GetFullPath(path)}' does not exist.");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            var inputs = root.TryGetProperty("cases", out var cases) ? cases[0].GetProperty("inputs") : root.GetProperty("inputs");
            var read = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
            foreach (var input in session.Inputs)
            {
                if (!inputs.TryGetProperty(input.Name, out var json))
                {
                    throw new CliException($"'{path}' has no input '{input.Name}'; the model needs {string.Join(", ", session.Inputs)}.");
                }

                var tensor = HostTensor.FromJson(input.Name, json);
                if (tensor.ElementType != input.ElementType)
                {
                    throw new CliException($"'{path}': input '{input.Name}' holds {TensorText.TypeName(tensor.ElementType)}, but the model takes {TensorText.TypeName(input.ElementType)}{TensorText.Shape(input)}.");
                }

                read[input.Name] = tensor;
            }

            return read;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            throw new CliException($"'{path}' is not an inputs file ({e.Message}); expected a models/*.reference.json file or {{\"inputs\": {{\"NAME\": {{\"type\": \"float32\", \"shape\": [1, 30], \"data\": [...]}}}}}}.");
        }
    }

    /// <summary>The rows a set of inputs holds: the first dimension of the first input whose first dimension is dynamic (a batch), else 1.</summary>
    internal static int Rows(IReadOnlyDictionary<string, HostTensor> inputs, ModelSession session) =>
        session.Inputs.FirstOrDefault(i => i.Shape.Length > 0 && i.Shape[0] < 0) is { } batched ? (int)inputs[batched.Name].Shape[0] : 1;
}
