using System.Globalization;
using InProcServe.Tests.Contracts;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using FraudScore = InProcServe.Tests.Contracts.FraudScore;

namespace InProcServe.Tests.Diagnostics.Monitoring;

/// <summary>
/// Monitoring of a hosted model with a canary: fraud.onnx (version 1) and fraud_retrained.onnx (version 2) answer the
/// reference rows, whose probabilities numpy computed, so what each version should report is known per row.
/// </summary>
[Collection(HostingCollection.Name)]
public sealed class HostedMonitoringTests
{
    [Fact]
    public async Task Each_version_reports_what_it_answered_through_the_api_and_the_metrics()
    {
        var rows = References();
        using var folder = new TemporaryFolder();
        foreach (var (number, file) in new[] { (1, "fraud"), (2, "fraud_retrained") })
        {
            var target = Directory.CreateDirectory(Path.Combine(folder.Path, number.ToString(CultureInfo.InvariantCulture))).FullName;
            File.Copy(TestModels.Path(file), Path.Combine(target, VersionFolder.ModelFileName));
        }

        var builder = TestHost.Builder(("InProcServe:Models:UnplacedFraud:Monitoring:SampleRate", "1"), ("InProcServe:Models:UnplacedFraud:Monitoring:WindowSize", "100000"));
        builder.Services.AddModel<UnplacedFraud>()
            .FromFolder(folder.Path, VersionPolicy.LatestN(2))
            .WithCanary(1, 50)
            .MonitorOutput<FraudScore>("probability", s => s.Probability);
        using var host = builder.Build();
        using var metrics = new MetricCollector(host.Services);
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IVersionedModel<FraudFeatures, FraudScore>>();
        var hosted = host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"];

        var answered = new Dictionary<long, List<(float[] Features, double Probability)>> { [1] = [], [2] = [] };
        for (var i = 0; i < 400; i++)
        {
            var row = rows[i % rows.Length];
            var answer = i % 2 == 0 ? model.PredictWithVersion(new FraudFeatures(row.Features)) : await model.PredictWithVersionAsync(new FraudFeatures(row.Features));
            answered[answer.Version].Add((row.Features, answer.Version == 2 ? row.Primary : row.Canary));
        }

        var report = hosted.GetMonitoringReport()!;
        Assert.True(hosted.IsMonitored);
        Assert.Equal("UnplacedFraud", report.Model);
        Assert.Equal(1, report.SampleRate);
        Assert.Equal([(2L, "primary"), (1L, "canary")], report.Versions.Select(v => (v.Version, v.Role)));
        foreach (var version in report.Versions)
        {
            var mine = answered[version.Version];
            Assert.Equal(mine.Count, version.SampledRows);
            var output = Assert.Single(version.Outputs);
            Assert.Equal("probability", output.Name);
            Assert.Equal(mine.Count, output.Count);
            Assert.Equal(mine.Average(r => r.Probability), output.Mean, 1e-5);
            Assert.Equal(Distributions.EvenEdges(0, 1, 10), output.BinEdges);
            Assert.Equal(mine.Count, output.BinCounts.Sum());
            for (var b = 0; b < 10; b++)
            {
                Assert.Equal(mine.Count(r => Math.Min((int)(r.Probability * 10), 9) == b), output.BinCounts[b]);
            }

            // Column 29 of the features: the mean over the rows this version answered.
            var column = version.Inputs.Single(c => c.Column == 29);
            Assert.Equal(mine.Average(r => (double)r.Features[29]), column.Mean, 1e-9);
            Assert.Equal(mine.Count, column.Count);
        }

        // The two versions weigh the same rows differently: the canary drifts from the primary; the primary has no such figure.
        Assert.Null(report.Versions[0].Outputs[0].PrimaryStability);
        Assert.True(report.Versions[1].Outputs[0].PrimaryStability > 0);

        metrics.ObserveGauges();
        Assert.Equal(answered[1].Count, metrics.Values("inprocserve.monitor.samples", ("inprocserve.model.version", 1L)).Last());
        Assert.Equal(answered[2].Count, metrics.Values("inprocserve.monitor.samples", ("inprocserve.model.version", 2L)).Last());
        Assert.Equal(report.Versions[0].Outputs[0].Quantiles[3].Value, metrics.Values("inprocserve.monitor.output.quantile", ("inprocserve.model.version", 2L), ("inprocserve.monitor.quantile", 0.5)).Last());
        Assert.Equal(report.Versions[1].Outputs[0].PrimaryStability!.Value, metrics.Values("inprocserve.monitor.output.stability", ("inprocserve.model.version", 1L), ("inprocserve.monitor.reference", "primary")).Last());
        Assert.Equal(answered[2].Average(r => (double)r.Features[29]), metrics.Values("inprocserve.monitor.input.mean", ("inprocserve.model.version", 2L), ("inprocserve.monitor.column", 29)).Last(), 1e-9);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_baseline_file_bins_the_histogram_and_gives_each_version_its_drift()
    {
        var rows = References();
        using var folder = new TemporaryFolder();
        var baseline = Path.Combine(folder.Path, "fraud.baseline.json");
        File.WriteAllText(baseline, """{ "outputs": { "probability": { "edges": [0, 0.25, 0.5, 1], "proportions": [0.5, 0.3, 0.2] } } }""");
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>().AddMonitoring(sampleRate: 1, baseline: baseline).MonitorOutput<FraudScore>("probability", s => s.Probability);
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>();

        var answers = new List<double>();
        for (var i = 0; i < 300; i++) answers.Add(model.Predict(new FraudFeatures(rows[i % rows.Length].Features)).Probability);
        var output = host.Services.GetRequiredService<ModelCatalog>()["PlainFraud"].GetMonitoringReport()!.Versions.Single().Outputs.Single();

        Assert.Equal([0, 0.25, 0.5, 1], output.BinEdges);
        long[] counts = [answers.Count(p => p < 0.25), answers.Count(p => p is >= 0.25 and < 0.5), answers.Count(p => p >= 0.5)];
        Assert.Equal(counts, output.BinCounts);
        // The index by its definition, worked here: Σ (actual − expected) · ln(actual / expected), an empty bin as 0.0001.
        var expected = new[] { 0.5, 0.3, 0.2 };
        var index = counts.Select((c, b) => Math.Max(c / 300.0, 1e-4)).Select((a, b) => (a - expected[b]) * Math.Log(a / expected[b])).Sum();
        Assert.Equal(index, output.BaselineStability!.Value, 1e-12);
        Assert.Null(output.PrimaryStability);
        await host.StopAsync();
    }

    [Fact]
    public async Task Without_monitoring_there_is_no_report()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>();
        using var host = builder.Build();
        await host.StartAsync();

        var hosted = host.Services.GetRequiredService<ModelCatalog>()["PlainFraud"];
        Assert.False(hosted.IsMonitored);
        Assert.Null(hosted.GetMonitoringReport());
        await host.StopAsync();
    }

    [Fact]
    public async Task Bad_monitoring_settings_fail_the_start_in_its_one_message()
    {
        using var folder = new TemporaryFolder();
        var baseline = Path.Combine(folder.Path, "baseline.json");
        File.WriteAllText(baseline, """{ "outputs": { "score": { "edges": [0, 1], "proportions": [1] } } }""");
        var builder = TestHost.Builder(
            ("InProcServe:Models:PlainFraud:Monitoring:SampleRate", "0"),
            ("InProcServe:Models:PlainFraud:Monitoring:WindowSize", "8"),
            ("InProcServe:Models:PlainFraud:Monitoring:Baseline", baseline),
            ("InProcServe:Models:PlainFraud:Monitoring:Sample", "1"));
        builder.Services.AddModel<PlainFraud>().MonitorOutput<FraudScore>("probability", s => s.Probability);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("InProcServe:Models:PlainFraud:Monitoring:Sample is not a setting; the settings here are Enabled, SampleRate, WindowSize, Baseline.", error.Message);
        Assert.Contains("Monitoring.SampleRate is 0; it must be above 0 and at most 1 (default: 0.1).", error.Message);
        Assert.Contains("Monitoring.WindowSize is 8; it must be from 16 to 1000000 (default: 2048).", error.Message);
        Assert.Contains($"Monitoring.Baseline '{baseline}' describes the output 'score', which no MonitorOutput registers (monitored: 'probability').", error.Message);
    }

    [Fact]
    public async Task A_monitored_output_of_another_record_type_fails_the_load_naming_the_call_to_make()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<PlainFraud>().MonitorOutput<Verdict>("probability", v => v.Probability);
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("its monitored output 'probability' reads a Verdict, but the model's output record is FraudScore: call .MonitorOutput<FraudScore>(\"probability\", output => …).", error.ToString());
    }

    /// <summary>The rows of the fraud references with both models' probabilities from numpy: version 2 (retrained) is the primary.</summary>
    private static (float[] Features, double Primary, double Canary)[] References()
    {
        static IEnumerable<(float[] Features, double Probability)> Read(string model) => TestModels.Reference(model).Cases
            .SelectMany(c => c.Inputs.Single(t => t.Name == "features").Data.Select(d => (float)d.GetDouble()).Chunk(30)
                .Zip(c.Outputs.Single(t => t.Name == "probability").Data.Select(d => d.GetDouble())));

        return Read("fraud_retrained").Zip(Read("fraud"), (retrained, fraud) => (retrained.Features, retrained.Probability, fraud.Probability)).ToArray();
    }
}
