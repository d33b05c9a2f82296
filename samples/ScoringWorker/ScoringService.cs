using System.Diagnostics;
using System.Text.Json;
using FraudModel;
using InProcServe;
using Microsoft.Extensions.Hosting;

namespace ScoringWorker;

/// <summary>Scores the transactions once, with progress, prints a summary, and stops the app.</summary>
public sealed class ScoringService(IModel<Transaction, FraudDecision> fraud, ScoringOptions options, IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <summary>Rows one bulk call takes; the model cuts them into batches of its MaxBatchSize.</summary>
    private const int BulkChunk = 256;

    private int scored;
    private int flagged;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var transactions = Load();
            var latencies = new long[transactions.Count];
            Console.WriteLine($"Scoring {transactions.Count:N0} transactions, mode {options.Mode}, concurrency {options.Concurrency}.");

            using var progress = new CancellationTokenSource();
            var reporter = ReportProgress(transactions.Count, progress.Token);
            var clock = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, Math.Min(options.Concurrency, transactions.Count)).Select(w => options.Mode switch
            {
                "direct" => Task.Run(() => Direct(w, transactions, latencies, stoppingToken), stoppingToken),
                "bulk" => Task.Run(() => Bulk(w, transactions, latencies, stoppingToken), stoppingToken),
                _ => Queued(w, transactions, latencies, stoppingToken),
            });
            await Task.WhenAll(workers);
            var elapsed = clock.Elapsed;
            await progress.CancelAsync();
            await reporter;

            Summarize(transactions.Count, elapsed, latencies);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Console.Error.WriteLine($"Scoring failed: {error.Message}");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private List<Transaction> Load()
    {
        var path = options.Input;
        if (path is null)
        {
            path = Path.Combine(Path.GetTempPath(), $"inprocserve-transactions-{options.Rows}.csv");
            if (!File.Exists(path))
            {
                TransactionFile.Generate(path, options.Rows);
                Console.WriteLine($"No --input given: generated {options.Rows:N0} transactions in {path}.");
            }
        }

        return TransactionFile.Read(path, options.Rows);
    }

    /// <summary>Each worker takes rows w, w + C, w + 2C, …: direct calls on its own thread, one row per run.</summary>
    private void Direct(int worker, List<Transaction> transactions, long[] latencies, CancellationToken cancellationToken)
    {
        var mine = 0;
        for (var i = worker; i < transactions.Count; i += options.Concurrency)
        {
            var started = Stopwatch.GetTimestamp();
            var decision = fraud.Predict(transactions[i], cancellationToken);
            latencies[i] = Stopwatch.GetTimestamp() - started;
            if (decision.Flagged) mine++;
            Interlocked.Increment(ref scored);
        }

        Interlocked.Add(ref flagged, mine);
    }

    /// <summary>Each worker awaits one queued call at a time; the model batches the workers' calls together.</summary>
    private async Task Queued(int worker, List<Transaction> transactions, long[] latencies, CancellationToken cancellationToken)
    {
        for (var i = worker; i < transactions.Count; i += options.Concurrency)
        {
            var started = Stopwatch.GetTimestamp();
            var decision = await fraud.PredictAsync(transactions[i], cancellationToken);
            latencies[i] = Stopwatch.GetTimestamp() - started;
            if (decision.Flagged) Interlocked.Increment(ref flagged);
            Interlocked.Increment(ref scored);
        }
    }

    /// <summary>Each worker takes chunks w, w + C, …: one bulk call per chunk; a row's latency is its chunk's.</summary>
    private void Bulk(int worker, List<Transaction> transactions, long[] latencies, CancellationToken cancellationToken)
    {
        var all = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(transactions);
        var decisions = new FraudDecision[BulkChunk];
        var mine = 0;
        for (var start = worker * BulkChunk; start < all.Length; start += options.Concurrency * BulkChunk)
        {
            var rows = Math.Min(BulkChunk, all.Length - start);
            var started = Stopwatch.GetTimestamp();
            fraud.Predict(all.Slice(start, rows), decisions.AsSpan(0, rows), cancellationToken);
            var latency = Stopwatch.GetTimestamp() - started;
            for (var i = 0; i < rows; i++)
            {
                latencies[start + i] = latency;
                if (decisions[i].Flagged) mine++;
            }

            Interlocked.Add(ref scored, rows);
        }

        Interlocked.Add(ref flagged, mine);
    }

    private async Task ReportProgress(int total, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        var clock = Stopwatch.StartNew();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var done = Volatile.Read(ref scored);
                var line = $"  {done,12:N0} / {total:N0} rows  {done / clock.Elapsed.TotalSeconds,12:N0} rows/s";
                if (Console.IsOutputRedirected) Console.WriteLine(line);
                else Console.Write("\r" + line);
            }
        }
        catch (OperationCanceledException)
        {
            if (!Console.IsOutputRedirected) Console.WriteLine();
        }
    }

    private void Summarize(int rows, TimeSpan elapsed, long[] latencies)
    {
        Array.Sort(latencies);
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(p * latencies.Length))] * 1_000_000.0 / Stopwatch.Frequency;
        var rate = rows / elapsed.TotalSeconds;
        var p50 = Percentile(0.50);
        var p99 = Percentile(0.99);

        Console.WriteLine($"rows {rows:N0}   {rate:N0} rows/s   p50 {p50:N1} µs   p99 {p99:N1} µs   flagged {flagged:N0} ({100.0 * flagged / Math.Max(rows, 1):0.00}%)   mode {options.Mode}, concurrency {options.Concurrency}");
        if (options.Json is { } path)
        {
            using var stream = File.Create(path);
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteNumber("rows", rows);
            json.WriteNumber("rows_per_s", Math.Round(rate, 1));
            json.WriteNumber("p50_us", Math.Round(p50, 1));
            json.WriteNumber("p99_us", Math.Round(p99, 1));
            json.WriteNumber("flagged", flagged);
            json.WriteEndObject();
            Console.WriteLine($"Summary written to {path}.");
        }
    }
}
