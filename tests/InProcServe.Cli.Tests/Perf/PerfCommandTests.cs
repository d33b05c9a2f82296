using System.Text.Json;
using InProcServe.Cli.Perf;
using InProcServe.Cli.Tests.TestSupport;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Cli.Tests.Perf;

public sealed class PerfCommandTests
{
    [Theory]
    [InlineData("direct", "1,3", "1,16", 16)]
    [InlineData("queued", "4", "8", 8)]
    [InlineData("bulk", "2", "100", 64)]
    public void Each_level_reports_latency_throughput_and_batch_sizes_in_the_table_CSV_and_JSON(string mode, string concurrency, string batch, int largestBatch)
    {
        using var folder = new TemporaryFolder();
        var csv = Path.Combine(folder.Path, "perf.csv");
        var json = Path.Combine(folder.Path, "perf.json");
        var (exitCode, output) = CliHarness.Run(
            "perf", TestModels.Path("fraud"), "--mode", mode, "--concurrency", concurrency, "--batch", batch,
            "--window-ms", "100", "--max-windows", "4", "--csv", csv, "--json", json);

        Assert.True(exitCode == 0, output);
        var levels = concurrency.Split(',').Length * batch.Split(',').Length;
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var results = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(levels, results.Count);
        Assert.Equal(levels + 1, File.ReadAllLines(csv).Length);
        foreach (var result in results)
        {
            Assert.Equal(mode, result.GetProperty("mode").GetString());
            Assert.InRange(result.GetProperty("windows").GetInt32(), 3, 4);
            var requests = result.GetProperty("requests_per_s").GetDouble();
            Assert.True(requests > 0, output);
            Assert.Equal(requests * result.GetProperty("batch").GetInt32(), result.GetProperty("inferences_per_s").GetDouble(), requests * 1e-6);
            var (p50, p90, p99) = (result.GetProperty("p50_us").GetDouble(), result.GetProperty("p90_us").GetDouble(), result.GetProperty("p99_us").GetDouble());
            Assert.True(0 < p50 && p50 <= p90 && p90 <= p99, $"p50 {p50}, p90 {p90}, p99 {p99}");
            var sizes = result.GetProperty("batch_sizes").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetInt64());
            Assert.True(sizes.Keys.Max() <= largestBatch, string.Join(", ", sizes));
        }

        // bulk: 100 rows are a run of 64 and one of 36.
        if (mode == "bulk") Assert.Equal([36, 64], results[0].GetProperty("batch_sizes").EnumerateObject().Select(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture)).Order());
        Assert.Contains($"mode {mode},", output, StringComparison.Ordinal);
        Assert.Matches($@"\n\s+{concurrency.Split(',')[0]}\s+{batch.Split(',')[0]}\s+[\d,]+\s+[\d,]+\s+[\d.]+", output);
    }

    [Fact]
    public void Stability_needs_the_last_three_windows_within_the_percentage()
    {
        static Window Window(double rowsPerSecond, long p50Ticks)
        {
            var latencies = new InProcServe.LoadTest.LatencyHistogram();
            latencies.Record(p50Ticks);
            return new(1, 1, (long)rowsPerSecond, latencies, p50Ticks, new Dictionary<int, long>());
        }

        Assert.False(PerfCommand.IsStable([Window(1000, 100), Window(1000, 100)], 10));
        Assert.True(PerfCommand.IsStable([Window(500, 100), Window(1000, 100), Window(1050, 100), Window(980, 104)], 10));
        Assert.False(PerfCommand.IsStable([Window(1000, 100), Window(1300, 100), Window(1000, 100)], 10));
        Assert.False(PerfCommand.IsStable([Window(1000, 100), Window(1000, 150), Window(1000, 100)], 10));
    }

    [Fact]
    public void A_remote_model_is_refused_until_remote_models_exist()
    {
        var (exitCode, output) = CliHarness.Run("perf", "http://localhost:8000/v2/models/fraud");

        Assert.Equal(1, exitCode);
        Assert.Contains("is a remote model; perf measures local .onnx files only", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_says_remote_models_are_not_supported_yet()
    {
        var (exitCode, output) = CliHarness.Run("perf", "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("A remote model (http://…/v2/models/NAME) is not supported yet", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dynamic_dimension_without_a_shape_names_the_option_to_give()
    {
        var (exitCode, output) = CliHarness.Run("perf", TestModels.Path("dynamic"), "--window-ms", "50");

        Assert.Equal(1, exitCode);
        Assert.Contains("dynamic dimension 1 ('seq') that only the caller knows: give the input's shape with --shape x=…", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Inputs_from_a_reference_file_are_sent_as_they_are()
    {
        var (exitCode, output) = CliHarness.Run(
            "perf", TestModels.Path("dynamic"), "--input-data", Path.Combine(TestModels.Folder, "dynamic.reference.json"), "--window-ms", "50", "--max-windows", "3");

        Assert.True(exitCode == 0, output);
        // The file's first case holds 2 rows of 5.
        Assert.Matches(@"\n\s+1\s+1\s+[\d,]+\s+[\d,]+.*\s2×\d+", output);
    }
}
