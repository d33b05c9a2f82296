using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace InProcServe.Cli.Perf;

/// <summary>The figures of one load level (a concurrency and a batch size), over its last three measurement windows.</summary>
internal sealed record PerfResult(
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("concurrency")] int Concurrency,
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("windows")] int Windows,
    [property: JsonPropertyName("stable")] bool Stable,
    [property: JsonPropertyName("inferences_per_s")] double InferencesPerSecond,
    [property: JsonPropertyName("requests_per_s")] double RequestsPerSecond,
    [property: JsonPropertyName("p50_us")] double P50,
    [property: JsonPropertyName("p90_us")] double P90,
    [property: JsonPropertyName("p99_us")] double P99,
    [property: JsonPropertyName("mean_us")] double Mean,
    [property: JsonPropertyName("batch_sizes")] IReadOnlyDictionary<int, long> BatchSizes)
{
    /// <summary>The batch-size histogram as "64×1200 1×3".</summary>
    internal string Histogram => string.Join(" ", BatchSizes.OrderByDescending(b => b.Value).Select(b => $"{b.Key}×{b.Value}"));

    internal static void WriteCsv(string path, IEnumerable<PerfResult> results)
    {
        var csv = new StringBuilder("mode,concurrency,batch,windows,stable,inferences_per_s,requests_per_s,p50_us,p90_us,p99_us,mean_us,batch_sizes\n");
        foreach (var r in results)
        {
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Mode},{r.Concurrency},{r.Batch},{r.Windows},{r.Stable.ToString().ToLowerInvariant()},{r.InferencesPerSecond:F1},{r.RequestsPerSecond:F1},{r.P50:F2},{r.P90:F2},{r.P99:F2},{r.Mean:F2},{r.Histogram}"));
        }

        File.WriteAllText(path, csv.ToString());
    }

    internal static void WriteJson(string path, PerfRun run) =>
        File.WriteAllText(path, JsonSerializer.Serialize(run, PerfJson.Default.PerfRun));
}

/// <summary>A whole perf run as its JSON file holds it.</summary>
internal sealed record PerfRun(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("onnxruntime")] string OnnxRuntime,
    [property: JsonPropertyName("processors")] int Processors,
    [property: JsonPropertyName("intra_op_threads")] int IntraOpThreads,
    [property: JsonPropertyName("window_ms")] int WindowMilliseconds,
    [property: JsonPropertyName("stability_percent")] double StabilityPercent,
    [property: JsonPropertyName("results")] IReadOnlyList<PerfResult> Results);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(PerfRun))]
internal sealed partial class PerfJson : JsonSerializerContext;
