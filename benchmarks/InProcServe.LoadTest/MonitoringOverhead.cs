using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace InProcServe.LoadTest;

/// <summary>
/// What prediction monitoring costs queued calls: the fraud model hosted three times (monitoring off, on at the default
/// 10% sample, on at 100%), each called by 64 async callers through <see cref="IModel{TRequest, TResponse}.PredictAsync"/>
/// in a closed loop, in turn, one second each, for S rounds.
/// </summary>
/// <remarks>Usage: <c>dotnet run -c Release --project benchmarks/InProcServe.LoadTest -- --monitoring --seconds S [--json FILE]</c> (S rounds, at least 5).</remarks>
internal static class MonitoringOverhead
{
    private const int Concurrency = 64;

    internal static async Task<int> RunAsync(float[][] rows, double seconds, string? json)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        using var off = await StartAsync(path, null);
        using var control = await StartAsync(path, null);
        using var sampled = await StartAsync(path, 0.1);
        using var every = await StartAsync(path, 1.0);
        // The control is a second host with monitoring off: how far two identical hosts differ is the measurement's own error.
        var models = new[] { ("off", off), ("off, control", control), ("on, 10% sampled", sampled), ("on, 100% sampled", every) };

        // Rounds of one second per configuration, the order rotating each round: the ratio of each round compares
        // configurations measured within three seconds of each other, so the other work on the machine, which changes
        // over tens of seconds, mostly cancels out; the median over rounds drops the rounds it didn't.
        foreach (var (_, host) in models) await ClosedLoop.RunAsync(Caller(host), rows, Concurrency, 0.5); // Warm-up: tiering, pools, first samples.
        var rounds = Math.Max(5, (int)seconds);
        var rates = models.ToDictionary(m => m.Item1, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < models.Length; k++)
            {
                var (name, host) = models[(round + k) % models.Length];
                rates[name].Add((await ClosedLoop.RunAsync(Caller(host), rows, Concurrency, 1)).PerSecond);
            }
        }

        var medians = rates.ToDictionary(r => r.Key, r => Median(r.Value));
        var ratios = rates.ToDictionary(r => r.Key, r => Median(r.Value.Zip(rates["off"], (on, off) => on / off)));
        Console.WriteLine($"prediction monitoring, hosted fraud model, {Concurrency} queued callers, {Environment.ProcessorCount} cores, {rounds} rounds of 1 s per configuration; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        foreach (var (name, rate) in medians)
        {
            Console.WriteLine($"  monitoring {name,-18} median {rate,9:0} per s   median of per-round ratios {ratios[name]:0.000}× off   (rounds: {Math.Round(rates[name].Min())} to {Math.Round(rates[name].Max())} per s)");
        }

        var sampledRows = Catalog(sampled)["HostedFraud"].GetMonitoringReport()?.Versions[0].SampledRows ?? 0;
        Console.WriteLine($"  (the 10% model sampled {sampledRows} rows)");
        var perRow = new[] { 0.1, 1.0 }.ToDictionary(rate => rate, rate => ObserveNanoseconds(rows, rate));
        Console.WriteLine($"  Observe on one thread, per row: {perRow[0.1]:0.0} ns at 10% sampled, {perRow[1.0]:0.0} ns at 100% (30 input columns, one output)");
        if (json is not null)
        {
            var document = new JsonObject
            {
                ["concurrency"] = Concurrency,
                ["per_s"] = new JsonObject(medians.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)Math.Round(m.Value)))),
                ["rounds"] = rounds,
                ["ratio_control_vs_off"] = Math.Round(ratios["off, control"], 3),
                ["ratio_sampled_10_vs_off"] = Math.Round(ratios["on, 10% sampled"], 3),
                ["ratio_sampled_100_vs_off"] = Math.Round(ratios["on, 100% sampled"], 3),
                ["observe_ns_per_row_10"] = Math.Round(perRow[0.1], 1),
                ["observe_ns_per_row_100"] = Math.Round(perRow[1.0], 1),
            };
            await File.WriteAllTextAsync(json, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        foreach (var (_, host) in models) await host.StopAsync();
        return 0;
    }

    private static async Task<IHost> StartAsync(string path, double? sampleRate)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var model = builder.Services.AddModel<HostedFraud>().FromFile(path).ConfigureBatching(b =>
        {
            b.MaxBatchSize = 64;
            b.QueueCapacity = 16_384;
        });
        if (sampleRate is { } rate) model.AddMonitoring(rate).MonitorOutput<FraudProbability>("probability", p => p.Probability);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static IModel<FraudFeatures, FraudProbability> Model(IHost host) => host.Services.GetRequiredService<IModel<FraudFeatures, FraudProbability>>();

    /// <summary>The host's model, resolved once, as the closed loop calls it.</summary>
    private static Func<FraudFeatures, ValueTask<FraudProbability>> Caller(IHost host)
    {
        var model = Model(host);
        return input => model.PredictAsync(input);
    }

    private static ModelCatalog Catalog(IHost host) => host.Services.GetRequiredService<ModelCatalog>();

    /// <summary>What recording one row costs the caller, alone on its thread: the median of five timed loops of a million rows.</summary>
    private static double ObserveNanoseconds(float[][] rows, double rate)
    {
        using var monitor = VersionMonitor<FraudFeatures, FraudProbability>.Create(
            new MonitoringOptions { Enabled = true, SampleRate = rate },
            [(new OutputBins("probability", [0, 0.5, 1], null), p => p.Probability)]);
        var inputs = rows.Select(r => new FraudFeatures(r)).ToArray();
        var output = new FraudProbability(0.25f);
        var times = new List<double>();
        for (var run = 0; run < 6; run++)
        {
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < 1_000_000; i++) monitor.Observe(inputs[i & (inputs.Length - 1)], output);
            if (run > 0) times.Add(Stopwatch.GetElapsedTime(start).TotalNanoseconds / 1_000_000); // The first run warms up.
        }

        return Median(times);
    }

    private static double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);

}
