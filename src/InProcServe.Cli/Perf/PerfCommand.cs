using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace InProcServe.Cli.Perf;

/// <summary>
/// <c>inprocserve perf MODEL.onnx</c>: perf_analyzer's concurrency sweep, in process: closed-loop callers at each concurrency,
/// measurement windows repeated until the last three agree, then latency percentiles, throughput and batch sizes.
/// </summary>
internal static class PerfCommand
{
    /// <summary>The settings of one perf run.</summary>
    internal sealed record Settings(
        string Model,
        PerfMode Mode,
        int[] Concurrency,
        int[] Batch,
        int MaxBatchSize,
        int WindowMilliseconds,
        double StabilityPercent,
        int MaxWindows,
        string? InputData,
        Dictionary<string, long[]> Shapes,
        int IntraOpThreads,
        int Workers,
        string? Csv,
        string? Json);

    internal static Command Create(IAnsiConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .onnx file. A remote model (http://…/v2/models/NAME) is not supported yet: InProcServe has no remote models so far." };
        var concurrency = new Option<string>("--concurrency") { Description = "Callers at once, a comma-separated list measured in turn: 1,8,64.", DefaultValueFactory = _ => "1" };
        var mode = new Option<PerfMode>("--mode")
        {
            Description = "direct: each caller runs on its own thread. queued: callers await an execution lane (requests waiting together are joined " +
                          "into runs of up to 64 rows when the model batches). bulk: each request of --batch rows is cut into runs of --max-batch-size rows.",
            DefaultValueFactory = _ => PerfMode.Direct,
        };
        var batch = new Option<string>("--batch") { Description = "Rows per request, a comma-separated list: 1,64.", DefaultValueFactory = _ => "1" };
        var maxBatch = new Option<int>("--max-batch-size") { Description = "bulk: the most rows per run.", DefaultValueFactory = _ => 64 };
        var window = new Option<int>("--window-ms") { Description = "The length of a measurement window.", DefaultValueFactory = _ => 1000 };
        var stability = new Option<double>("--stability-percent") { Description = "Stable when the last three windows' throughput and p50 latency are each within this much of their mean.", DefaultValueFactory = _ => 10 };
        var maxWindows = new Option<int>("--max-windows") { Description = "Windows measured at most per level; the figures then come from the last three, marked unstable.", DefaultValueFactory = _ => 10 };
        var inputData = new Option<string?>("--input-data") { Description = "Send these inputs instead of generated ones: a models/*.reference.json file or {\"inputs\": {NAME: {type, shape, data}}}." };
        var shape = new Option<string[]>("--shape") { Description = "NAME=d0,d1,…: the shape of an input with dynamic dimensions other than the batch (the batch replaces a dynamic first dimension)." };
        var threads = new Option<int>("--intra-op-threads") { Description = "ONNX Runtime threads per run (0: its default, one per core).", DefaultValueFactory = _ => 1 };
        var workers = new Option<int>("--workers") { Description = "queued: the lane's workers (0: one per two processors).", DefaultValueFactory = _ => 0 };
        var csv = new Option<string?>("--csv") { Description = "Also write the results to this CSV file." };
        var json = new Option<string?>("--json") { Description = "Also write the results to this JSON file." };
        var command = new Command("perf",
            "Measures a model in process, as Triton's perf_analyzer does a server: closed-loop callers at each concurrency send generated (or given) inputs; " +
            "windows are repeated until the last three agree; prints p50/p90/p99 latency, throughput and batch sizes, and writes CSV/JSON.")
        {
            model, concurrency, mode, batch, maxBatch, window, stability, maxWindows, inputData, shape, threads, workers, csv, json,
        };
        command.SetAction(result => CliCommand.Run(console, () => Run(console, new Settings(
            result.GetRequiredValue(model),
            result.GetValue(mode),
            ParseList("--concurrency", result.GetRequiredValue(concurrency)),
            ParseList("--batch", result.GetRequiredValue(batch)),
            result.GetValue(maxBatch),
            result.GetValue(window),
            result.GetValue(stability),
            result.GetValue(maxWindows),
            result.GetValue(inputData),
            ModelInputs.ParseShapes(result.GetValue(shape) ?? []),
            result.GetValue(threads),
            result.GetValue(workers),
            result.GetValue(csv),
            result.GetValue(json)))));
        return command;
    }

    private static int[] ParseList(string option, string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0))
        {
            throw new CliException($"{option} '{text}': expected positive integers separated by commas, such as 1,8,64.");
        }

        return [.. parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
    }

    /// <summary>Measures every level, prints the table, writes the files; returns 0.</summary>
    internal static int Run(IAnsiConsole console, Settings settings)
    {
        if (settings.Model.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || settings.Model.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw new CliException($"'{settings.Model}' is a remote model; perf measures local .onnx files only, until InProcServe has remote models (an Open Inference Protocol client) to measure through.");
        }

        if (settings.WindowMilliseconds < 50) throw new CliException($"--window-ms is {settings.WindowMilliseconds}; it must be at least 50.");
        if (settings.MaxWindows < 3) throw new CliException($"--max-windows is {settings.MaxWindows}; stability needs at least 3.");
        if (settings.StabilityPercent <= 0) throw new CliException($"--stability-percent is {settings.StabilityPercent}; it must be above 0.");
        if (settings.MaxBatchSize < 1) throw new CliException($"--max-batch-size is {settings.MaxBatchSize}; it must be at least 1.");

        using var session = ModelSession.Load(settings.Model, new ModelSessionOptions { IntraOpThreads = settings.IntraOpThreads });
        var batched = session.Inputs.Any(i => i.Shape.Length > 0 && i.Shape[0] < 0);
        var fileInputs = settings.InputData is { } data ? ModelInputs.Read(data, session) : null;
        if (fileInputs is not null && settings.Batch is not [1])
        {
            throw new CliException("--batch and --input-data exclude each other: the file's inputs are sent as they are, with the rows they hold.");
        }

        if (!batched && settings.Batch.Any(b => b > 1))
        {
            throw new CliException($"The model has no dynamic batch dimension ({string.Join(", ", session.Inputs)}): every request holds what its fixed shape holds; leave out --batch.");
        }

        if (settings.Mode == PerfMode.Bulk && (fileInputs is not null || !batched))
        {
            throw new CliException("--mode bulk cuts generated requests of --batch rows into runs; it needs a model with a dynamic batch dimension and no --input-data.");
        }

        using var lane = settings.Mode == PerfMode.Queued ? new ExecutionLane("perf", settings.Workers) : null;
        console.WriteLine($"{Path.GetFileName(settings.Model)}: {string.Join(", ", session.Inputs)} → {string.Join(", ", session.Outputs)}");
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mode {settings.Mode.ToString().ToLowerInvariant()}, intra-op threads {settings.IntraOpThreads}{(lane is null ? "" : $", lane workers {lane.Workers}")}, " +
            $"{settings.WindowMilliseconds} ms windows until 3 agree within {settings.StabilityPercent}% (at most {settings.MaxWindows}); {Environment.ProcessorCount} processors; ONNX Runtime {OnnxRuntime.Version}"));

        Dictionary<string, HostTensor> Inputs(int caller, int rows) => fileInputs ?? ModelInputs.Generate(session, rows, settings.Shapes, seed: caller);

        var results = new List<PerfResult>();
        foreach (var batch in settings.Batch)
        {
            foreach (var concurrency in settings.Concurrency)
            {
                results.Add(Measure(console, session, lane, settings, concurrency, batch, Inputs));
            }
        }

        // Narrow enough for an 80-column terminal; the mode is in the heading, CSV and JSON have every figure in full.
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("conc.", "batch", "infer/s", "req/s", "p50 µs", "p90 µs", "p99 µs", "mean µs", "win", "batches");
        foreach (var column in table.Columns) column.Padding(1, 0, 0, 0);
        foreach (var r in results)
        {
            table.AddRow(
                r.Concurrency.ToString(CultureInfo.InvariantCulture),
                r.Batch.ToString(CultureInfo.InvariantCulture),
                r.InferencesPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                r.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                r.P50.ToString("F1", CultureInfo.InvariantCulture),
                r.P90.ToString("F1", CultureInfo.InvariantCulture),
                r.P99.ToString("F1", CultureInfo.InvariantCulture),
                r.Mean.ToString("F1", CultureInfo.InvariantCulture),
                r.Windows.ToString(CultureInfo.InvariantCulture) + (r.Stable ? "" : "*"),
                r.Histogram);
        }

        console.Write(table);
        if (results.Any(r => !r.Stable))
        {
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"* not stable within {settings.StabilityPercent}% after {settings.MaxWindows} windows: figures from the last three (a busy machine; try --window-ms {settings.WindowMilliseconds * 2})."));
        }
        if (settings.Csv is { } csv)
        {
            PerfResult.WriteCsv(csv, results);
            console.WriteLine($"Wrote {csv}");
        }

        if (settings.Json is { } json)
        {
            PerfResult.WriteJson(json, new PerfRun(Path.GetFileName(settings.Model), OnnxRuntime.Version, Environment.ProcessorCount, settings.IntraOpThreads,
                settings.WindowMilliseconds, settings.StabilityPercent, results));
            console.WriteLine($"Wrote {json}");
        }

        return 0;
    }

    private static PerfResult Measure(
        IAnsiConsole console, ModelSession session, ExecutionLane? lane, Settings settings, int concurrency, int batch, Func<int, int, Dictionary<string, HostTensor>> inputs)
    {
        var label = $"concurrency {concurrency}, batch {batch}";
        using var level = new LoadLevel(session, lane, settings.Mode, concurrency, batch, settings.MaxBatchSize, inputs);
        var windows = new List<Window>();
        var stable = false;

        void Loop(Action<string> progress)
        {
            level.Start();
            // A warm-up window, thrown away, lasting until every caller has had an answer: threads start, caches and ONNX Runtime's buffers fill.
            var warmUp = System.Diagnostics.Stopwatch.StartNew();
            do Thread.Sleep(Math.Min(500, settings.WindowMilliseconds));
            while (!level.AllAnswered && warmUp.Elapsed < TimeSpan.FromSeconds(30));
            if (!level.AllAnswered) throw new CliException($"{label}: some callers had no answer in 30 s of warm-up; the model is too slow for this concurrency, or stuck.");
            level.Take();
            while (!stable && windows.Count < settings.MaxWindows)
            {
                Thread.Sleep(settings.WindowMilliseconds);
                var window = level.Take();
                windows.Add(window);
                stable = IsStable(windows, settings.StabilityPercent);
                progress(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: window {windows.Count}: {window.RowsPerSecond:N0} inferences/s, p50 {window.Percentile(0.5):F1} µs{(stable ? ", stable" : "")}"));
            }

            level.Stop();
        }

        if (console.Profile.Capabilities.Interactive)
        {
            console.Status().Start(label, context => Loop(line => context.Status(Markup.Escape(line))));
        }
        else
        {
            Loop(console.WriteLine);
        }

        var last = Window.Merge(windows.TakeLast(3).ToList());
        return new PerfResult(
            settings.Mode.ToString().ToLowerInvariant(), concurrency, batch, windows.Count, stable,
            last.Rows / last.Seconds, last.Requests / last.Seconds,
            last.Percentile(0.50), last.Percentile(0.90), last.Percentile(0.99), last.MeanMicros, last.BatchSizes);
    }

    /// <summary>perf_analyzer's rule: the last three windows' throughput and p50 latency each within the percentage of their mean.</summary>
    internal static bool IsStable(IReadOnlyList<Window> windows, double percent)
    {
        if (windows.Count < 3) return false;
        var last = windows.TakeLast(3).ToList();
        return Within(last.Select(w => w.RowsPerSecond).ToList(), percent) && Within(last.Select(w => w.Percentile(0.5)).ToList(), percent);
    }

    private static bool Within(IReadOnlyList<double> values, double percent)
    {
        var mean = values.Average();
        return mean > 0 && values.All(v => Math.Abs(v - mean) <= mean * percent / 100);
    }
}
