using System.Text;
using InProcServe.Tests.Contracts;
using static InProcServe.Tests.Diagnostics.Monitoring.MonitoringSamples;

namespace InProcServe.Tests.Diagnostics.Monitoring;

/// <summary>
/// The monitor of one version and the figures it reports, fed samples of known distributions and checked against
/// numpy's figures for the same samples (monitoring_reference.py), or against values worked out by hand.
/// </summary>
public sealed class PredictionMonitoringTests
{
    private static readonly FraudFeatures Zeros = new(new float[30]);

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Quantiles_mean_and_histogram_of_an_exponential_output_match_numpy(int threads)
    {
        var reference = Reference.GetProperty("exponential");
        var edges = reference.GetProperty("edges").Numbers();
        using var monitor = Monitor(5000, edges);

        OnThreads(threads, Exponential(1, 5000), value => monitor.Observe(Zeros, value));
        var report = Distributions.Describe(monitor.Outputs[0], monitor.Window(0), primary: null);

        Assert.Equal(5000, report.Count);
        Assert.Equal(5000, monitor.SampledRows);
        Assert.Equal([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99], report.Quantiles.Select(q => q.Level));
        var expected = reference.GetProperty("quantiles").Numbers();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], report.Quantiles[i].Value, 1e-12);
        Assert.Equal(reference.GetProperty("mean").GetDouble(), report.Mean, 1e-12);
        Assert.Equal(reference.GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()), report.BinCounts);
        Assert.Equal(edges, report.BinEdges);
        Assert.Equal(0, report.NaNCount);
        Assert.Null(report.PrimaryStability);
        Assert.Null(report.BaselineStability);
        // And the sample is what it claims to be: Exponential(1)'s median is ln 2.
        Assert.Equal(Math.Log(2), report.Quantiles[3].Value, 0.05);
    }

    [Fact]
    public void The_window_keeps_the_latest_values()
    {
        using var monitor = Monitor(16, [0, 50, 100]);

        for (var i = 0; i < 100; i++) monitor.Observe(Zeros, i);
        monitor.Observe(Zeros, double.NaN);
        var report = Distributions.Describe(monitor.Outputs[0], monitor.Window(0), primary: null);

        // The last 16 values: 85 to 99 and a NaN. The median of 85..99 is 92; its 25th percentile 85 + 0.25 · 14 = 88.5.
        Assert.Equal(16, report.Count);
        Assert.Equal(1, report.NaNCount);
        Assert.Equal(92, report.Quantiles[3].Value, 1e-12);
        Assert.Equal(88.5, report.Quantiles[2].Value, 1e-12);
        Assert.Equal(92, report.Mean, 1e-12);
        Assert.Equal([0L, 15L], report.BinCounts);
        Assert.Equal(101, monitor.SampledRows);
    }

    [Fact]
    public void Drift_of_a_canary_from_the_primary_and_from_a_baseline_matches_numpy()
    {
        var reference = Reference.GetProperty("drift");
        var baseline = MonitoringBaseline.Parse(Encoding.UTF8.GetBytes(
            $$"""{ "outputs": { "p": { "edges": [{{string.Join(", ", reference.GetProperty("baselineEdges").Numbers())}}], "proportions": [{{string.Join(", ", reference.GetProperty("baselineProportions").Numbers())}}] } } }"""));
        using var primary = Monitor(4000, Distributions.EvenEdges(0, 1, 10));
        using var canary = Monitor(4000, Distributions.EvenEdges(0, 1, 10));
        foreach (var value in Uniforms(7, 4000)) primary.Observe(Zeros, value);
        foreach (var value in Uniforms(11, 4000)) canary.Observe(Zeros, value * value);

        var versusPrimary = Distributions.Describe(canary.Outputs[0], canary.Window(0), primary.Window(0));
        var onBaseline = new OutputBins("p", baseline.Outputs["p"].Edges, baseline.Outputs["p"]);
        var canaryVersusBaseline = Distributions.Describe(onBaseline, canary.Window(0), primary.Window(0));
        var primaryVersusBaseline = Distributions.Describe(onBaseline, primary.Window(0), null);

        Assert.Equal(reference.GetProperty("psiCanaryVersusPrimary").GetDouble(), versusPrimary.PrimaryStability!.Value, 1e-12);
        Assert.Equal(reference.GetProperty("psiCanaryVersusBaseline").GetDouble(), canaryVersusBaseline.BaselineStability!.Value, 1e-12);
        Assert.Equal(reference.GetProperty("psiPrimaryVersusBaseline").GetDouble(), primaryVersusBaseline.BaselineStability!.Value, 1e-12);
        Assert.Equal([0.0, 0.2, 0.5, 1.0], canaryVersusBaseline.BinEdges);
        // A version against its own distribution does not drift.
        Assert.Equal(0, Distributions.Describe(primary.Outputs[0], primary.Window(0), primary.Window(0)).PrimaryStability!.Value, 1e-15);
    }

    [Fact]
    public void The_stability_index_is_the_sum_of_its_terms_with_empty_bins_floored()
    {
        // Worked by hand: (0.5 − 0.25)·ln(0.5 / 0.25) + (0.5 − 0.75)·ln(0.5 / 0.75); a bin empty on both sides adds nothing.
        Assert.Equal(0.25 * Math.Log(2) - 0.25 * Math.Log(0.5 / 0.75), Distributions.StabilityIndex([0.25, 0.75, 0], [0.5, 0.5, 0]), 1e-15);
        // A bin empty on one side counts as 0.0001 of it.
        Assert.Equal((0.1 - 0.0001) * Math.Log(0.1 / 0.0001) + (0.9 - 1) * Math.Log(0.9), Distributions.StabilityIndex([0, 1], [0.1, 0.9]), 1e-15);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Input_columns_mean_standard_deviation_and_NaN_counts_match_numpy(int threads)
    {
        var reference = Reference.GetProperty("inputs");
        var rows = reference.GetProperty("rows").GetInt32();
        var columns = Enumerable.Range(0, 30).Select(j => Normal((uint)(100 + j), rows, j / 10.0, 1 + j / 30.0)).ToArray();
        using var monitor = Monitor(16, [0, 1]);

        OnThreads(threads, Enumerable.Range(0, rows).ToArray(), r =>
        {
            var features = new float[30];
            for (var j = 0; j < 30; j++) features[j] = j == 3 && r % 97 == 0 ? float.NaN : (float)columns[j][r];
            monitor.Observe(new FraudFeatures(features), 0.5);
        });

        var summaries = monitor.Inputs();
        Assert.Equal(30, summaries.Length);
        var expected = reference.GetProperty("columns").EnumerateArray().ToArray();
        for (var j = 0; j < 30; j++)
        {
            Assert.Equal(("features", j), (summaries[j].Tensor, summaries[j].Column));
            Assert.Equal(expected[j].GetProperty("count").GetInt64(), summaries[j].Count);
            Assert.Equal(expected[j].GetProperty("nan").GetInt64(), summaries[j].NaNCount);
            Assert.Equal(expected[j].GetProperty("mean").GetDouble(), summaries[j].Mean, 1e-9);
            Assert.Equal(expected[j].GetProperty("std").GetDouble(), summaries[j].StandardDeviation, 1e-9);
        }

        Assert.Equal(31, summaries[3].NaNCount);
    }

    [Fact]
    public void A_column_far_from_zero_with_a_small_spread_keeps_its_precision()
    {
        // float32 values around 1000 with a spread of 0.01: a plain sum of squares (about 1e6 per row) would lose the spread.
        var values = Normal(5, 5000, 1000, 0.01).Select(v => (float)v).ToArray();
        using var monitor = Monitor(16, [0, 1]);

        foreach (var value in values) monitor.Observe(new FraudFeatures([value, .. new float[29]]), 0.5);

        // Two passes, in the test: the mean, then the root of the mean squared deviation from it.
        var mean = values.Average(v => (double)v);
        var deviation = Math.Sqrt(values.Average(v => ((double)v - mean) * ((double)v - mean)));
        var column = monitor.Inputs()[0];
        Assert.Equal(mean, column.Mean, 1e-9);
        Assert.Equal(deviation, column.StandardDeviation, 1e-9);
        Assert.InRange(column.StandardDeviation, 0.0095, 0.0105);
    }

    [Fact]
    public void A_share_of_rows_is_sampled()
    {
        using var monitor = Monitor(16, [0, 1], sampleRate: 0.25);

        for (var i = 0; i < 40_000; i++) monitor.Observe(Zeros, 0.5);

        // Binomial(40000, 0.25): σ ≈ 86.6; ±5σ.
        var sigma = Math.Sqrt(40_000 * 0.25 * 0.75);
        Assert.InRange(monitor.SampledRows, 10_000 - 5 * sigma, 10_000 + 5 * sigma);
    }

    [Fact]
    public void A_value_that_cannot_be_read_leaves_the_row_out_and_the_call_alone()
    {
        using var monitor = VersionMonitor<FraudFeatures, double>.Create(
            new MonitoringOptions { Enabled = true, SampleRate = 1, WindowSize = 16 },
            [(new OutputBins("p", [0, 1], null), v => v < 0 ? throw new InvalidOperationException("negative") : v)]);

        monitor.Observe(Zeros, -1);
        monitor.Observe(Zeros, 0.25);

        Assert.Equal(1, monitor.SampledRows);
        Assert.Equal([0.25], monitor.Window(0));
    }

    [Theory]
    [InlineData("""{ "outputs": { "p": { "edges": [0, 1], "proportions": [0.5] } } }""", "outputs.p.proportions sum to 0.5; they must sum to 1.")]
    [InlineData("""{ "outputs": { "p": { "edges": [0, 1, 1], "proportions": [0.5, 0.5] } } }""", "outputs.p.edges must increase, but 1 follows 1.")]
    [InlineData("""{ "outputs": { "p": { "edges": [0, 1], "proportions": [0.5, 0.5] } } }""", "outputs.p.proportions holds 2 number(s); 2 edges make 1 bins, one proportion each.")]
    [InlineData("""{ "outputs": { "p": { "edges": [0, "a"], "proportions": [1] } } }""", "outputs.p.edges[1] is \"a\"; it must be a finite number.")]
    [InlineData("""{ "p": [] }""", "it needs an object \"outputs\"")]
    [InlineData("""{ "outputs": """, "it is not JSON")]
    public void A_bad_baseline_is_refused_saying_what_is_wrong(string json, string message)
    {
        var error = Assert.Throws<FormatException>(() => MonitoringBaseline.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith(message, error.Message);
    }

    /// <summary>Feeds <paramref name="items"/> to <paramref name="observe"/> from <paramref name="threads"/> threads, each taking every n-th item: several threads record into several stripes, which reports merge.</summary>
    private static void OnThreads<T>(int threads, T[] items, Action<T> observe)
    {
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (var i = t; i < items.Length; i += threads) observe(items[i]);
        })).ToArray();
        foreach (var worker in workers) worker.Start();
        foreach (var worker in workers) worker.Join();
    }

    private static VersionMonitor<FraudFeatures, double> Monitor(int window, double[] edges, double sampleRate = 1) =>
        VersionMonitor<FraudFeatures, double>.Create(
            new MonitoringOptions { Enabled = true, SampleRate = sampleRate, WindowSize = window },
            [(new OutputBins("p", edges, null), v => v)]);
}
