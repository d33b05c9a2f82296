using System.Globalization;
using System.Text.Json;

namespace InProcServe;

/// <summary>
/// The expected distribution of a model's outputs, read from a JSON file (<see cref="MonitoringOptions.Baseline"/>):
/// for each output, the edges of its bins and the share of values expected in each.
/// </summary>
/// <remarks>
/// The file:
/// <code>
/// { "outputs": {
///     "probability": { "edges": [0, 0.1, 0.5, 1], "proportions": [0.8, 0.15, 0.05] }
/// } }
/// </code>
/// <c>edges</c> holds at least two increasing numbers; <c>proportions</c> one non-negative number per bin (one fewer
/// than the edges) that sum to 1 (within 0.001). A value below the first edge counts in the first bin, one above the
/// last in the last bin, as in <see cref="OutputDistribution.BinCounts"/>.
/// </remarks>
public sealed class MonitoringBaseline
{
    private MonitoringBaseline(IReadOnlyDictionary<string, BaselineDistribution> outputs) => Outputs = outputs;

    /// <summary>The expected distribution of each output, by the name it is monitored under.</summary>
    public IReadOnlyDictionary<string, BaselineDistribution> Outputs { get; }

    /// <summary>Reads a baseline file.</summary>
    /// <param name="path">The JSON file.</param>
    /// <exception cref="FormatException">The file is not a baseline; the message says what is wrong and where.</exception>
    /// <exception cref="IOException">The file can't be read.</exception>
    public static MonitoringBaseline Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllBytes(path));
    }

    /// <summary>Reads a baseline from its JSON text, UTF-8 encoded.</summary>
    /// <param name="json">The JSON.</param>
    /// <exception cref="FormatException">The JSON is not a baseline; the message says what is wrong and where.</exception>
    public static MonitoringBaseline Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException error)
        {
            throw new FormatException($"it is not JSON: {error.Message}", error);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("outputs", out var outputs) || outputs.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("it needs an object \"outputs\" with one entry per output: { \"outputs\": { \"probability\": { \"edges\": [...], \"proportions\": [...] } } }.");
            }

            var result = new Dictionary<string, BaselineDistribution>(StringComparer.Ordinal);
            foreach (var output in outputs.EnumerateObject())
            {
                var edges = Numbers(output, "edges");
                var proportions = Numbers(output, "proportions");
                if (edges.Length < 2) throw new FormatException($"outputs.{output.Name}.edges holds {edges.Length} number(s); it needs at least two.");
                for (var i = 1; i < edges.Length; i++)
                {
                    if (!(edges[i] > edges[i - 1])) throw new FormatException($"outputs.{output.Name}.edges must increase, but {Text(edges[i])} follows {Text(edges[i - 1])}.");
                }

                if (proportions.Length != edges.Length - 1)
                {
                    throw new FormatException($"outputs.{output.Name}.proportions holds {proportions.Length} number(s); {edges.Length} edges make {edges.Length - 1} bins, one proportion each.");
                }

                if (proportions.Any(p => p < 0 || !double.IsFinite(p))) throw new FormatException($"outputs.{output.Name}.proportions must be non-negative numbers.");
                var sum = proportions.Sum();
                if (Math.Abs(sum - 1) > 0.001) throw new FormatException($"outputs.{output.Name}.proportions sum to {Text(sum)}; they must sum to 1.");
                result.Add(output.Name, new BaselineDistribution(edges, proportions));
            }

            return new MonitoringBaseline(result);
        }
    }

    private static double[] Numbers(JsonProperty output, string name)
    {
        if (output.Value.ValueKind != JsonValueKind.Object || !output.Value.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"outputs.{output.Name} needs an array \"{name}\".");
        }

        var numbers = new double[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out numbers[i]) || !double.IsFinite(numbers[i]))
            {
                throw new FormatException($"outputs.{output.Name}.{name}[{i}] is {item.GetRawText()}; it must be a finite number.");
            }

            i++;
        }

        return numbers;
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The expected distribution of one output: its bins and the share of values in each.</summary>
/// <param name="Edges">The bins' edges, increasing: bin <c>i</c> holds values from <c>Edges[i]</c> up to, not including, <c>Edges[i + 1]</c>.</param>
/// <param name="Proportions">The expected share of values in each bin; they sum to 1.</param>
public sealed record BaselineDistribution(IReadOnlyList<double> Edges, IReadOnlyList<double> Proportions);
