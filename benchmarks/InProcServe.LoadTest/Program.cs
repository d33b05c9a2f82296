using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using InProcServe.Benchmarks;

namespace InProcServe.LoadTest;

/// <summary>
/// The micro-batcher's load harness: the fraud MLP through raw ONNX Runtime (batch 1 and batch 64, one thread),
/// the direct path (one thread) and the queued path (closed loop at 1, 16, 64 and 256 async callers, then open
/// loop at 70% of the best closed-loop throughput), in one process and one run, so every figure is a ratio
/// against raw ONNX Runtime measured under the same machine load.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project benchmarks/InProcServe.LoadTest -- --seconds S --json FILE</c>.
/// S is the measured time of each phase (default 3); <c>--monitoring</c> measures prediction monitoring's cost instead (MonitoringOverhead.cs), <c>--hosted</c> hosting's cost for queued calls (HostedOverhead.cs; <c>--only bare@256</c> runs one path, bare, hosted or cancelable, at one concurrency for S seconds, to profile it); <c>--max-delay-us D</c> sets the batcher's MaxDelay (default 0), <c>--workers N</c> the lane's workers (default: one per core), <c>--idle-spin-us U</c> the lane's idle spin (default 50). Every result is compared with the raw batch-1 output for
/// the same row; the run fails (exit code 1) if any differs, so a broken batcher can't report a throughput.
/// </remarks>
internal static class Program
{
    private const int RowCount = 1024;
    private const int RowMask = RowCount - 1;
    private const float Tolerance = 1e-5f;
    private const int MaxBatchSize = 64;
    private static readonly int[] Concurrencies = [1, 16, 64, 256];

    private static float[][] rows = [];
    private static float[] expected = [];
    private static long mismatches;

    private static async Task<int> Main(string[] args)
    {
        var seconds = 3.0;
        var maxDelay = TimeSpan.Zero;
        var workers = 0;
        TimeSpan? idleSpin = null;
        string? json = null;
        var monitoring = false;
        var hosted = false;
        string? only = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--json": json = args[++i]; break;
                case "--monitoring": monitoring = true; break;
                case "--hosted": hosted = true; break;
                case "--only": only = args[++i]; break;
                case "--max-delay-us": maxDelay = TimeSpan.FromMicroseconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                case "--workers": workers = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--idle-spin-us": idleSpin = TimeSpan.FromMicroseconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                default:
                    Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: --seconds S --json FILE [--max-delay-us D] [--workers N] [--idle-spin-us U] [--monitoring] [--hosted [--only PATH@CALLERS]]");
                    return 2;
            }
        }

        var path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        var random = new Random(42);
        rows = Enumerable.Range(0, RowCount).Select(_ => Enumerable.Range(0, RawFraudModel.Features).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToArray();
        if (monitoring) return await MonitoringOverhead.RunAsync(rows, seconds, json);
        if (hosted) return await HostedOverhead.RunAsync(rows, seconds, only);

        using var raw1 = new RawFraudModel(path, 1);
        using var raw64 = new RawFraudModel(path, 64);
        expected = new float[RowCount];
        for (var i = 0; i < RowCount; i++)
        {
            rows[i].CopyTo(raw1.Input);
            raw1.Run();
            expected[i] = raw1.Output[0];
        }

        using var session = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });
        using var runner = ModelRunner.Create<FraudFeatures, FraudProbability>(session);
        using var lane = new ExecutionLane("cpu", workers, idleSpin);
        var batching = new BatchingOptions { MaxBatchSize = MaxBatchSize, MaxDelay = maxDelay, QueueCapacity = 16_384 };
        await using var batcher = ModelBatcher.Create<FraudFeatures, FraudProbability>(session, lane, batching);

        Console.WriteLine($"fraud MLP 30→64→32→1, IntraOpThreads=1; {Environment.ProcessorCount} cores, lane workers {lane.Workers}, idle spin {(idleSpin ?? ExecutionLane.DefaultIdleSpin).TotalMicroseconds} µs; " +
                          $"MaxBatchSize {MaxBatchSize}, MaxDelay {maxDelay.TotalMicroseconds} µs; {seconds} s per phase; load average {LoadAverage()}");

        // Raw batch 1, the official API's fastest way (OrtIoBinding) and the direct path alternate in five slices each,
        // so a change in machine load hits all three alike.
        using var official = new OfficialBound(path);
        var slice = seconds / 5;
        RawBatch1(raw1, 0.3);
        OfficialBatch1(official, 0.3);
        Direct(runner, 0.3);
        var rawRates = new List<double>();
        var officialRates = new List<double>();
        var directRates = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            rawRates.Add(RawBatch1(raw1, slice));
            officialRates.Add(OfficialBatch1(official, slice));
            directRates.Add(Direct(runner, slice));
        }

        var rawB1 = Median(rawRates);
        var officialB1 = Median(officialRates);
        var direct = Median(directRates);
        DirectLatency(runner, 0.2); // Warm-up: the timed loop's own tiering and first allocations.
        var (directP50, directP99, allocated) = DirectLatency(runner, Math.Min(1, seconds / 3));

        RawBatch64(raw64, 0.3);
        var rawB64 = RawBatch64(raw64, seconds);
        var rawB64BatchMicroseconds = 64 / rawB64 * 1e6;

        var queued = new List<(int Concurrency, double PerSecond, double P50, double P99)>();
        foreach (var concurrency in Concurrencies)
        {
            await Closed(batcher, concurrency, Math.Min(0.5, seconds / 4));
            var (perSecond, latencies) = await Closed(batcher, concurrency, seconds);
            queued.Add((concurrency, perSecond, latencies.PercentileMicroseconds(50), latencies.PercentileMicroseconds(99)));
        }

        var saturation = queued.Max(q => q.PerSecond);
        var openRate = 0.7 * saturation;
        Open(batcher, openRate, Math.Min(0.5, seconds / 4)); // Warm-up: the send loop's own tiering, as for the closed loops.
        var open = Open(batcher, openRate, seconds);
        var bound = maxDelay.TotalMicroseconds + (2 * rawB64BatchMicroseconds);
        var load = LoadAverage();

        Console.WriteLine();
        Console.WriteLine($"{"path",-34} {"per s",12} {"× raw b1",9} {"p50 µs",9} {"p99 µs",9}");
        Row("raw ORT Run, batch 1", rawB1, rawB1, double.NaN, double.NaN);
        Row("raw ORT Run, batch 64 (rows)", rawB64, rawB1, double.NaN, double.NaN);
        Row("official OrtIoBinding, batch 1", officialB1, rawB1, double.NaN, double.NaN);
        Row("direct Predict(input)", direct, rawB1, directP50, directP99);
        foreach (var q in queued) Row($"queued, {q.Concurrency} callers", q.PerSecond, rawB1, q.P50, q.P99);
        Row($"queued, open loop at 70% ({open.Issued} sent)", open.PerSecond, rawB1, open.P50, open.P99);
        Console.WriteLine();
        Console.WriteLine($"direct: {direct / rawB1:0.000}× raw batch-1 throughput (time per call {rawB1 / direct:0.000}× raw), {allocated:0.##} B allocated per call");
        Console.WriteLine($"open loop p99 {open.P99:0} µs vs bound MaxDelay + 2 × batch-64 run ({rawB64BatchMicroseconds:0.#} µs) = {bound:0} µs: {(open.P99 <= bound ? "met" : "not met")}");
        Console.WriteLine($"results checked: {Interlocked.Read(ref mismatches)} mismatches; load average {load}; thread-pool threads at the end {ThreadPool.ThreadCount}");

        if (json is not null)
        {
            var document = new JsonObject
            {
                ["raw_b1_per_s"] = Round(rawB1),
                ["raw_b64_rows_per_s"] = Round(rawB64),
                ["raw_b64_batch_us"] = Round(rawB64BatchMicroseconds, 2),
                ["official_iobinding_b1_per_s"] = Round(officialB1),
                ["direct_per_s"] = Round(direct),
                ["direct_p50_us"] = Round(directP50, 3),
                ["direct_p99_us"] = Round(directP99, 3),
                ["direct_alloc_bytes_per_call"] = Round(allocated, 3),
                ["direct_time_ratio_vs_raw_b1"] = Round(rawB1 / direct, 3),
                ["queued"] = new JsonArray(queued.Select(q => (JsonNode)new JsonObject
                {
                    ["concurrency"] = q.Concurrency,
                    ["per_s"] = Round(q.PerSecond),
                    ["p50_us"] = Round(q.P50, 1),
                    ["p99_us"] = Round(q.P99, 1),
                    ["ratio_vs_raw_b1"] = Round(q.PerSecond / rawB1, 2),
                }).ToArray()),
                ["open_loop"] = new JsonObject
                {
                    ["target_per_s"] = Round(openRate),
                    ["per_s"] = Round(open.PerSecond),
                    ["p50_us"] = Round(open.P50, 1),
                    ["p99_us"] = Round(open.P99, 1),
                    ["p99_bound_us"] = Round(bound, 1),
                    ["p99_within_bound"] = open.P99 <= bound,
                    ["dropped"] = open.Dropped,
                },
                ["max_batch_size"] = MaxBatchSize,
                ["max_delay_us"] = maxDelay.TotalMicroseconds,
                ["lane_workers"] = lane.Workers,
                ["idle_spin_us"] = (idleSpin ?? ExecutionLane.DefaultIdleSpin).TotalMicroseconds,
                ["processor_count"] = Environment.ProcessorCount,
                ["seconds_per_phase"] = seconds,
                ["load_average"] = load,
                ["mismatches"] = Interlocked.Read(ref mismatches),
            };
            await File.WriteAllTextAsync(json, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        if (Interlocked.Read(ref mismatches) != 0)
        {
            Console.Error.WriteLine("Some results differed from raw ONNX Runtime: the figures above are not valid.");
            return 1;
        }

        return 0;
    }

    /// <summary>Batch-1 raw Runs per second, fresh input values copied into the input tensor before each.</summary>
    private static double RawBatch1(RawFraudModel raw, double seconds)
    {
        var input = raw.Input;
        var output = raw.Output;
        long calls = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        long now;
        do
        {
            for (var k = 0; k < 256; k++, calls++)
            {
                var i = (int)(calls & RowMask);
                rows[i].CopyTo(input);
                raw.Run();
                Check(output[0], i);
            }
        }
        while ((now = Stopwatch.GetTimestamp()) < end);

        return calls * (double)Stopwatch.Frequency / (now - start);
    }

    /// <summary>Rows per second through raw Runs of 64 rows, fresh values each Run.</summary>
    private static double RawBatch64(RawFraudModel raw, double seconds)
    {
        var input = raw.Input;
        var output = raw.Output;
        long batches = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        long now;
        do
        {
            for (var k = 0; k < 16; k++, batches++)
            {
                var first = (int)((batches * 64) & RowMask);
                for (var r = 0; r < 64; r++) rows[first + r].CopyTo(input.Slice(r * RawFraudModel.Features));
                raw.Run();
                for (var r = 0; r < 64; r++) Check(output[r], first + r);
            }
        }
        while ((now = Stopwatch.GetTimestamp()) < end);

        return batches * 64 * (double)Stopwatch.Frequency / (now - start);
    }

    /// <summary>Direct <see cref="ModelRunner{TInput, TOutput}.Predict(in TInput, CancellationToken)"/> calls per second, one thread.</summary>
    private static double Direct(ModelRunner<FraudFeatures, FraudProbability> runner, double seconds)
    {
        long calls = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        long now;
        do
        {
            for (var k = 0; k < 256; k++, calls++)
            {
                var i = (int)(calls & RowMask);
                Check(runner.Predict(new FraudFeatures(rows[i])).Probability, i);
            }
        }
        while ((now = Stopwatch.GetTimestamp()) < end);

        return calls * (double)Stopwatch.Frequency / (now - start);
    }

    /// <summary>Batch-1 runs per second through the official API's OrtIoBinding, fresh input values copied in before each.</summary>
    private static double OfficialBatch1(OfficialBound official, double seconds)
    {
        long calls = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        long now;
        do
        {
            for (var k = 0; k < 256; k++, calls++)
            {
                var i = (int)(calls & RowMask);
                Check(official.Run(rows[i]), i);
            }
        }
        while ((now = Stopwatch.GetTimestamp()) < end);

        return calls * (double)Stopwatch.Frequency / (now - start);
    }

    /// <summary>Per-call latency of the direct path and the bytes it allocates per call.</summary>
    private static (double P50, double P99, double BytesPerCall) DirectLatency(ModelRunner<FraudFeatures, FraudProbability> runner, double seconds)
    {
        var histogram = new LatencyHistogram();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        long calls = 0;
        long now;
        do
        {
            var i = (int)(calls++ & RowMask);
            var started = Stopwatch.GetTimestamp();
            var score = runner.Predict(new FraudFeatures(rows[i]));
            now = Stopwatch.GetTimestamp();
            histogram.Record(now - started);
            Check(score.Probability, i);
        }
        while (now < end);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        return (histogram.PercentileMicroseconds(50), histogram.PercentileMicroseconds(99), allocated / (double)calls);
    }

    /// <summary>
    /// Closed loop: <paramref name="concurrency"/> async callers, each awaiting one queued prediction after the other
    /// for <paramref name="seconds"/>. Returns completed predictions per second and their latencies.
    /// </summary>
    private static async Task<(double PerSecond, LatencyHistogram Latencies)> Closed(ModelBatcher<FraudFeatures, FraudProbability> batcher, int concurrency, double seconds)
    {
        var histograms = Enumerable.Range(0, concurrency).Select(_ => new LatencyHistogram()).ToArray();
        var stop = new StrongBox<bool>();
        var start = Stopwatch.GetTimestamp();
        var callers = Enumerable.Range(0, concurrency).Select(id => Task.Run(() => Caller(batcher, id, histograms[id], stop))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref stop.Value, true);
        var elapsed = Stopwatch.GetTimestamp() - start;
        await Task.WhenAll(callers);
        var merged = LatencyHistogram.Merge(histograms);
        return (merged.Count * (double)Stopwatch.Frequency / elapsed, merged);
    }

    private static async Task Caller(ModelBatcher<FraudFeatures, FraudProbability> batcher, int id, LatencyHistogram latencies, StrongBox<bool> stop)
    {
        var n = id * 97;
        while (!Volatile.Read(ref stop.Value))
        {
            var i = n++ & RowMask;
            var started = Stopwatch.GetTimestamp();
            var score = await batcher.PredictAsync(new FraudFeatures(rows[i])).ConfigureAwait(false);
            var ended = Stopwatch.GetTimestamp();
            Check(score.Probability, i);
            if (Volatile.Read(ref stop.Value)) break;
            latencies.Record(ended - started);
        }
    }

    /// <summary>
    /// Open loop: one thread sends predictions at <paramref name="rate"/> per second whether or not earlier ones are
    /// answered; latency counts from each send. A send whose slot (one of 16,384 in flight) is still busy is dropped and counted.
    /// </summary>
    private static (double PerSecond, double P50, double P99, long Issued, long Dropped) Open(ModelBatcher<FraudFeatures, FraudProbability> batcher, double rate, double seconds)
    {
        var latencies = new LatencyHistogram();
        var slots = Enumerable.Range(0, 16_384).Select(_ => new OpenLoopCall(batcher, latencies)).ToArray();
        long issued = 0, dropped = 0;
        var frequency = (double)Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * frequency);
        long now;
        while ((now = Stopwatch.GetTimestamp()) < end)
        {
            var due = (long)((now - start) / frequency * rate);
            if (issued >= due)
            {
                // Ahead of schedule: give the cores to the lane and the callbacks instead of spinning.
                Thread.Yield();
                continue;
            }

            while (issued < due)
            {
                var slot = slots[issued % slots.Length];
                if (!slot.TryStart((int)(issued & RowMask))) dropped++;
                issued++;
            }
        }

        var elapsed = Stopwatch.GetTimestamp() - start;
        var drained = Stopwatch.StartNew();
        while (slots.Any(s => s.Busy) && drained.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(1);
        return ((issued - dropped) * frequency / elapsed, latencies.PercentileMicroseconds(50), latencies.PercentileMicroseconds(99), issued, dropped);
    }

    private static void Check(float actual, int row)
    {
        if (Math.Abs(actual - expected[row]) > Tolerance) Interlocked.Increment(ref mismatches);
    }

    private static void Row(string name, double perSecond, double rawB1, double p50, double p99) =>
        Console.WriteLine($"{name,-34} {perSecond,12:N0} {perSecond / rawB1,9:0.00} {Format(p50),9} {Format(p99),9}");

    private static string Format(double value) => double.IsNaN(value) ? "" : value.ToString("0.0", CultureInfo.InvariantCulture);

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static double Round(double value, int digits = 0) => Math.Round(value, digits);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>One in-flight prediction of the open loop, reused: completes through a cached callback, so sending allocates nothing.</summary>
    private sealed class OpenLoopCall
    {
        private readonly ModelBatcher<FraudFeatures, FraudProbability> batcher;
        private readonly LatencyHistogram latencies;
        private readonly Action completed;
        private ValueTaskAwaiter<FraudProbability> awaiter;
        private long sentAt;
        private int row;
        private int busy;

        internal OpenLoopCall(ModelBatcher<FraudFeatures, FraudProbability> batcher, LatencyHistogram latencies)
        {
            this.batcher = batcher;
            this.latencies = latencies;
            completed = Complete;
        }

        internal bool Busy => Volatile.Read(ref busy) != 0;

        internal bool TryStart(int row)
        {
            if (Busy) return false;
            busy = 1;
            this.row = row;
            sentAt = Stopwatch.GetTimestamp();
            awaiter = batcher.PredictAsync(new FraudFeatures(rows[row])).GetAwaiter();
            if (awaiter.IsCompleted) Complete();
            else awaiter.UnsafeOnCompleted(completed);
            return true;
        }

        private void Complete()
        {
            var score = awaiter.GetResult();
            latencies.RecordConcurrent(Stopwatch.GetTimestamp() - sentAt);
            Check(score.Probability, row);
            Volatile.Write(ref busy, 0);
        }
    }
}

/// <summary>The official managed API used its fastest way: one session, values over arrays bound once, RunWithBinding.</summary>
internal sealed class OfficialBound : IDisposable
{
    private readonly Microsoft.ML.OnnxRuntime.InferenceSession session;
    private readonly Microsoft.ML.OnnxRuntime.RunOptions runOptions = new();
    private readonly Microsoft.ML.OnnxRuntime.OrtIoBinding binding;
    private readonly Microsoft.ML.OnnxRuntime.OrtValue input;
    private readonly Microsoft.ML.OnnxRuntime.OrtValue output;
    private readonly float[] inputData = new float[RawFraudModel.Features];
    private readonly float[] outputData = new float[1];

    internal OfficialBound(string path)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1, EnableCpuMemArena = false };
        session = new Microsoft.ML.OnnxRuntime.InferenceSession(path, options);
        input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(inputData, [1, RawFraudModel.Features]);
        output = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(outputData, [1, 1]);
        binding = session.CreateIoBinding();
        binding.BindInput("features", input);
        binding.BindOutput("probability", output);
    }

    internal float Run(float[] row)
    {
        row.CopyTo(inputData, 0);
        session.RunWithBinding(runOptions, binding);
        return outputData[0];
    }

    public void Dispose()
    {
        binding.Dispose();
        input.Dispose();
        output.Dispose();
        runOptions.Dispose();
        session.Dispose();
    }
}
