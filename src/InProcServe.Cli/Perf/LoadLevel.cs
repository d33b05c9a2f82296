using System.Diagnostics;
using InProcServe.LoadTest;

namespace InProcServe.Cli.Perf;

/// <summary>
/// A number of callers sending requests to a model in a closed loop (each sends its next request when the last one answered), as
/// perf_analyzer's concurrency mode does. Each caller records its latencies under its own lock, which only the window's reader contends.
/// </summary>
internal sealed class LoadLevel : IDisposable
{
    private readonly Caller[] callers;
    private readonly List<Thread> threads = [];
    private readonly List<Task> tasks = [];
    private readonly List<IDisposable> owned = [];
    private volatile bool stopping;
    private long windowStart;

    /// <summary>Prepares the callers' tensors (one warm-up run each) without starting them.</summary>
    internal LoadLevel(ModelSession session, ExecutionLane? lane, PerfMode mode, int concurrency, int batch, int maxBatchSize, Func<int, int, Dictionary<string, HostTensor>> inputs)
    {
        callers = new Caller[concurrency];
        for (var c = 0; c < concurrency; c++)
        {
            callers[c] = mode switch
            {
                PerfMode.Direct => DirectCaller(session, [Prepare(session, inputs(c, batch))]),
                PerfMode.Bulk => DirectCaller(session, Chunks(batch, maxBatchSize).Select(size => Prepare(session, inputs(c, size))).ToArray()),
                _ => QueuedCaller(session, lane!, inputs(c, batch)),
            };
        }
    }

    /// <summary>Starts every caller: threads for direct and bulk callers (they block in ONNX Runtime), tasks for queued ones (they await).</summary>
    internal void Start()
    {
        if (callers.Any(c => c.AsyncLoop is not null))
        {
            // Queued callers start, and continue after each answer, on the thread pool. A pool with fewer threads than that, whose
            // threads are blocked elsewhere in the process (a test host's), adds one about every half second: the callers would
            // start late and the first windows measure the pool. perf measures the model, so the pool starts with enough.
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(workers, Environment.ProcessorCount + callers.Length), io);
        }

        windowStart = Stopwatch.GetTimestamp();
        foreach (var caller in callers)
        {
            if (caller.Loop is { } loop)
            {
                var thread = new Thread(() => loop()) { IsBackground = true, Name = "inprocserve perf caller" };
                threads.Add(thread);
                thread.Start();
            }
            else
            {
                tasks.Add(Task.Run(caller.AsyncLoop!));
            }
        }
    }

    /// <summary>Whether every caller has had an answer: before that, a window would measure threads starting, not the model.</summary>
    internal bool AllAnswered => callers.All(c => c.Answered || c.Failure is not null);

    /// <summary>Ends the current window: what every caller recorded since the last call.</summary>
    internal Window Take()
    {
        var now = Stopwatch.GetTimestamp();
        var seconds = (now - windowStart) / (double)Stopwatch.Frequency;
        windowStart = now;
        var parts = callers.Select(c => c.Take()).ToList();
        var batches = new Dictionary<int, long>();
        foreach (var (size, count) in parts.SelectMany(p => p.Batches)) batches[size] = batches.GetValueOrDefault(size) + count;
        return new Window(seconds, parts.Sum(p => p.Requests), parts.Sum(p => p.Rows), LatencyHistogram.Merge(parts.Select(p => p.Latencies)), parts.Sum(p => p.Ticks), batches);
    }

    /// <summary>Stops the callers after their request in flight and rethrows the first failure.</summary>
    internal void Stop()
    {
        stopping = true;
        foreach (var thread in threads) thread.Join();
        Task.WaitAll([.. tasks]);
        if (callers.FirstOrDefault(c => c.Failure is not null)?.Failure is { } failure)
        {
            throw new CliException($"A request failed: {failure.Message}");
        }
    }

    public void Dispose()
    {
        stopping = true;
        foreach (var item in owned) item.Dispose();
    }

    private static IEnumerable<int> Chunks(int rows, int size)
    {
        for (var start = 0; start < rows; start += size) yield return Math.Min(size, rows - start);
    }

    /// <summary>
    /// One run's tensors: inputs wrapped once, outputs preallocated from a warm-up run's shapes and bound with them
    /// (<see cref="ModelSession.Bind"/>: no checks and no allocation per run); no binding when an output is a string
    /// tensor, which can't be preallocated.
    /// </summary>
    private sealed record Prepared(int Rows, NamedTensor[] Inputs, BoundRun? Bound);

    private Prepared Prepare(ModelSession session, Dictionary<string, HostTensor> inputs)
    {
        var values = session.Inputs.Select(i => new NamedTensor(i.Name, Own(inputs[i.Name].ToTensorValue()))).ToArray();
        using var warm = session.Run(values);
        NamedTensor[]? outputs = warm.All(o => o.Value.ElementType != TensorElementType.String)
            ? warm.Select(o => new NamedTensor(o.Name, Own(Allocate(o.Value.ElementType, o.Value.Shape.ToArray())))).ToArray()
            : null;
        var bound = outputs is null ? null : Own(session.Bind(values, outputs));
        return new Prepared(ModelInputs.Rows(inputs, session), values, bound);
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        owned.Add(item);
        return item;
    }

    private Caller DirectCaller(ModelSession session, Prepared[] runs)
    {
        var caller = new Caller();
        var rows = runs.Sum(r => r.Rows);
        caller.Loop = () =>
        {
            try
            {
                while (!stopping)
                {
                    var start = Stopwatch.GetTimestamp();
                    foreach (var run in runs)
                    {
                        if (run.Bound is { } bound) bound.Run();
                        else session.Run(run.Inputs).Dispose();
                    }

                    caller.Record(Stopwatch.GetTimestamp() - start, rows, runs);
                }
            }
            catch (Exception e) when (e is OnnxRuntimeException or ArgumentException or ObjectDisposedException)
            {
                caller.Failure = e;
            }
        };
        return caller;
    }

    private Caller QueuedCaller(ModelSession session, ExecutionLane lane, Dictionary<string, HostTensor> inputs)
    {
        var caller = new Caller();
        var values = session.Inputs.Select(i => new NamedTensor(i.Name, Own(inputs[i.Name].ToTensorValue()))).ToArray();
        var outputNames = session.Outputs.Select(o => o.Name).ToArray();
        var rows = ModelInputs.Rows(inputs, session);
        Prepared[] run = [new Prepared(rows, values, null)];
        caller.AsyncLoop = async () =>
        {
            try
            {
                while (!stopping)
                {
                    var start = Stopwatch.GetTimestamp();
                    (await lane.RunAsync(session, values, outputNames).ConfigureAwait(false)).Dispose();
                    caller.Record(Stopwatch.GetTimestamp() - start, rows, run);
                }
            }
            catch (Exception e) when (e is OnnxRuntimeException or ArgumentException or ObjectDisposedException or QueueFullException)
            {
                caller.Failure = e;
            }
        };
        return caller;
    }

    private static TensorValue Allocate(TensorElementType type, long[] shape) => type switch
    {
        TensorElementType.Float => TensorValue.Allocate<float>(shape),
        TensorElementType.Double => TensorValue.Allocate<double>(shape),
        TensorElementType.Float16 => TensorValue.Allocate<Half>(shape),
        TensorElementType.Int8 => TensorValue.Allocate<sbyte>(shape),
        TensorElementType.Int16 => TensorValue.Allocate<short>(shape),
        TensorElementType.Int32 => TensorValue.Allocate<int>(shape),
        TensorElementType.Int64 => TensorValue.Allocate<long>(shape),
        TensorElementType.UInt8 => TensorValue.Allocate<byte>(shape),
        TensorElementType.UInt16 => TensorValue.Allocate<ushort>(shape),
        TensorElementType.UInt32 => TensorValue.Allocate<uint>(shape),
        TensorElementType.UInt64 => TensorValue.Allocate<ulong>(shape),
        TensorElementType.Bool => TensorValue.Allocate<bool>(shape),
        _ => throw new NotSupportedException($"Can't preallocate an output of {TensorText.TypeName(type)}."),
    };

    /// <summary>One caller's loop and what it recorded since the window began.</summary>
    /// <remarks>
    /// Recording is a bucket increment into a histogram made once per window (30 KB, below the large-object heap): no
    /// per-request allocation, and nothing to sort, which on a machine of two cores would take time from the callers.
    /// </remarks>
    private sealed class Caller
    {
        private readonly Lock gate = new();
        private LatencyHistogram latencies = new();
        private Dictionary<int, long> batches = [];
        private long requests;
        private long ticks;
        private long rows;

        /// <summary>Set under the lock by the caller, polled without it by the warm-up.</summary>
        private volatile bool answered;

        internal Action? Loop { get; set; }

        internal Func<Task>? AsyncLoop { get; set; }

        internal Exception? Failure { get; set; }

        internal bool Answered => answered;

        internal void Record(long latency, int requestRows, Prepared[] runs)
        {
            lock (gate)
            {
                latencies.Record(latency);
                answered = true;
                requests++;
                ticks += latency;
                rows += requestRows;
                foreach (var run in runs) batches[run.Rows] = batches.GetValueOrDefault(run.Rows) + 1;
            }
        }

        internal (LatencyHistogram Latencies, long Requests, long Ticks, Dictionary<int, long> Batches, long Rows) Take()
        {
            lock (gate)
            {
                var taken = (latencies, requests, ticks, batches, rows);
                latencies = new LatencyHistogram();
                batches = [];
                (requests, ticks, rows) = (0, 0, 0);
                return taken;
            }
        }
    }
}
