using System.Diagnostics;

namespace InProcServe;

/// <summary>
/// The executor of one device: a fixed set of worker threads that run the batches of every model registered
/// on it. The CPU gets a lane with several workers; a GPU gets a lane with one worker, so its models take
/// turns instead of contending for the device.
/// </summary>
/// <remarks>
/// Workers pick the next ready batch fairly: models are visited round-robin, and a model with
/// <see cref="BatchingOptions.Priority"/> w runs up to w batches in a row before the next model's turn, so
/// a flooded model can't starve a quiet one. A worker only assembles a batch, runs ONNX Runtime and hands
/// out results; callers' continuations and handlers never run on it. Workers are dedicated threads, so a
/// starved thread pool in the host doesn't stall inference.
/// </remarks>
public sealed class ExecutionLane : IDisposable
{
    /// <summary>Guards the scheduler state; an object, not a <see cref="Lock"/>, because idle workers sleep on it with <see cref="Monitor.Wait(object, int)"/>.</summary>
    private readonly object gate = new();
    private readonly Thread[] threads;
    private readonly CountdownEvent exited;

    /// <summary>The registered queues, replaced on every change (guarded by <see cref="gate"/>).</summary>
    private LaneQueue[] queues = [];

    /// <summary>Where the next round-robin search starts (guarded by <see cref="gate"/>).</summary>
    private int cursor;

    /// <summary>Workers inside <see cref="Monitor.Wait(object, int)"/> or about to be; read without the lock by <see cref="Signal"/>.</summary>
    private int sleeping;

    /// <summary>1 while a worker spins waiting for work (at most one does); callers then need not wake a sleeper.</summary>
    private int spinning;

    /// <summary>Requests queued while a worker spins: the spinner watches it for new work without taking the lock.</summary>
    private long posted;

    private volatile bool stopping;

    /// <summary>The idle spin in <see cref="Stopwatch"/> ticks; 0 for none.</summary>
    private readonly long spinTime;

    /// <summary>Each session's queue of untyped requests, made on first use (guarded by <see cref="gate"/>).</summary>
    private readonly Dictionary<ModelSession, TensorQueue> untyped = [];

    /// <summary>Starts a lane and its workers.</summary>
    /// <param name="name">The lane's name in thread names and messages, such as "cpu" or "cuda:0".</param>
    /// <param name="workers">
    /// Batches run at the same time. Default: 0, one per two processors and at least one (for the CPU: the other
    /// half serve the callers, whose handlers, continuations and web requests need cores too; give sessions
    /// <see cref="ModelSessionOptions.IntraOpThreads"/> = 1 so workers don't oversubscribe the cores). Use 1 for a GPU.
    /// </param>
    /// <param name="idleSpin">
    /// How long an idle worker spins for new requests before it sleeps (one worker at a time); null for
    /// <see cref="DefaultIdleSpin"/>, <see cref="TimeSpan.Zero"/> for none. See <see cref="LaneOptions.IdleSpin"/>.
    /// </param>
    /// <exception cref="ArgumentException">
    /// <paramref name="name"/> is empty, <paramref name="workers"/> is negative, or <paramref name="idleSpin"/> is
    /// negative or over <see cref="MaxIdleSpin"/>.
    /// </exception>
    public ExecutionLane(string name, int workers = 0, TimeSpan? idleSpin = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        var spin = idleSpin ?? DefaultIdleSpin;
        ArgumentOutOfRangeException.ThrowIfLessThan(spin, TimeSpan.Zero, nameof(idleSpin));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(spin, MaxIdleSpin, nameof(idleSpin));
        spinTime = (long)(spin.TotalSeconds * Stopwatch.Frequency);
        Name = name;
        Workers = workers == 0 ? DefaultWorkers : workers;
        exited = new CountdownEvent(Workers);
        threads = new Thread[Workers];
        for (var i = 0; i < threads.Length; i++)
        {
            threads[i] = new Thread(Work) { IsBackground = true, Name = $"InProcServe lane {name} #{i}" };
            threads[i].Start();
        }
    }

    /// <summary>
    /// Runs an untyped request, whose tensors already hold a batch of rows, as one batch on this lane, taking its
    /// turn with the models registered here: the way to run a model with no C# contract (the Open Inference
    /// Protocol endpoints do) without contending with the lane's workers.
    /// </summary>
    /// <param name="session">The model.</param>
    /// <param name="inputs">Every model input, by name; the tensors must stay alive until the returned task completes.</param>
    /// <param name="outputNames">The outputs to compute.</param>
    /// <param name="cancellationToken">Cancels the request: while queued it never runs; while running, ONNX Runtime stops it.</param>
    /// <returns>The outputs, allocated by ONNX Runtime; dispose them.</returns>
    /// <exception cref="ArgumentException">The inputs don't fit the model (see <see cref="ModelSession.Run(ReadOnlySpan{NamedTensor}, CancellationToken)"/>).</exception>
    /// <exception cref="QueueFullException">The model already has <c>1024</c> untyped requests waiting on this lane.</exception>
    /// <exception cref="ObjectDisposedException">The lane or the session was disposed.</exception>
    public Task<RunOutputs> RunAsync(ModelSession session, NamedTensor[] inputs, string[] outputNames, CancellationToken cancellationToken = default) =>
        RunAsync(session, inputs, outputNames, null, cancellationToken);

    /// <summary>
    /// <see cref="RunAsync(ModelSession, NamedTensor[], string[], CancellationToken)"/> for a hosted model's version:
    /// the queue made on its first request joins at most <see cref="BatchingOptions.MaxBatchSize"/> rows, waits up to
    /// <see cref="BatchingOptions.MaxDelay"/> for them, and tells the version's observer its waits and runs.
    /// </summary>
    internal Task<RunOutputs> RunAsync(ModelSession session, NamedTensor[] inputs, string[] outputNames, (BatchingOptions Batching, IBatchObserver Observer)? version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputNames);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<RunOutputs>(cancellationToken);
        TensorQueue queue;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(stopping, this);
            queue = untyped.TryGetValue(session, out var existing) ? existing : untyped[session] = NewTensorQueue(session, version);
        }

        var result = queue.Enqueue(inputs, outputNames, cancellationToken);
        Signal();
        return result;
    }

    /// <summary>The untyped queue of <paramref name="session"/> on this lane, or null before its first request.</summary>
    internal TensorQueue? UntypedQueueOf(ModelSession session)
    {
        lock (gate)
        {
            return untyped.GetValueOrDefault(session);
        }
    }

    /// <summary>The workers of a lane whose options don't set them: one per two processors, at least one.</summary>
    public static int DefaultWorkers => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>The idle spin of a lane whose options don't set one: 50 µs.</summary>
    public static readonly TimeSpan DefaultIdleSpin = TimeSpan.FromMicroseconds(50);

    /// <summary>The longest idle spin a lane accepts: 10 ms; a longer wait is better spent asleep.</summary>
    public static readonly TimeSpan MaxIdleSpin = TimeSpan.FromMilliseconds(10);

    /// <summary>The lane's name.</summary>
    public string Name { get; }

    /// <summary>The number of worker threads: the most batches that run at the same time.</summary>
    public int Workers { get; }

    /// <summary>
    /// Stops the workers once they finish the batch in hand. Requests still queued for models on this lane
    /// fail with <see cref="ObjectDisposedException"/>; later calls to those models fail the same way.
    /// </summary>
    public void Dispose()
    {
        LaneQueue[] registered;
        lock (gate)
        {
            if (stopping) return;
            stopping = true;
            registered = queues;
            Monitor.PulseAll(gate);
        }

        exited.Wait();
        foreach (var queue in registered)
        {
            queue.Abort(new ObjectDisposedException(nameof(ExecutionLane), $"Lane '{Name}' was disposed."));
        }

        exited.Dispose();
    }

    /// <summary>Adds a model's queue to the round-robin.</summary>
    internal void Register(LaneQueue queue)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(stopping, this);
            queues = [.. queues, queue];
        }
    }

    /// <summary>
    /// Makes and registers a session's untyped queue, and drops the empty queues of disposed sessions (versions
    /// replaced by a reload), so a long-lived lane doesn't collect them; called under <see cref="gate"/>.
    /// </summary>
    private TensorQueue NewTensorQueue(ModelSession session, (BatchingOptions Batching, IBatchObserver Observer)? version)
    {
        foreach (var (old, oldQueue) in untyped.Where(e => e.Key.IsDisposed && e.Value.IsEmpty).ToList())
        {
            untyped.Remove(old);
            queues = queues.Where(q => q != oldQueue).ToArray();
        }

        var queue = version is var (batching, observer)
            ? new TensorQueue(session, batching.MaxBatchSize, batching.MaxDelay, observer)
            : new TensorQueue(session);
        queues = [.. queues, queue];
        cursor = 0;
        return queue;
    }

    /// <summary>Removes a model's queue; batches already running finish.</summary>
    internal void Unregister(LaneQueue queue)
    {
        lock (gate)
        {
            queues = queues.Where(q => q != queue).ToArray();
            cursor = 0;
        }
    }

    /// <summary>Wakes a sleeping worker after a request was queued, unless a worker is spinning and will find it.</summary>
    /// <remarks>
    /// The caller writes the request, then a full fence, then reads <see cref="spinning"/> and <see cref="sleeping"/>;
    /// a worker sets either of those with a full fence before its last look at the queues. One of the two sees the
    /// other, so a request never waits for a worker that started spinning or went to sleep without seeing it. The
    /// fence is local to the core: under steady load, when no worker idles, a call writes no lane-wide state.
    /// </remarks>
    internal void Signal()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref spinning) != 0)
        {
            Interlocked.Increment(ref posted);
        }
        else if (Volatile.Read(ref sleeping) != 0)
        {
            lock (gate)
            {
                Monitor.Pulse(gate);
            }
        }
    }

    /// <summary>Whether the current thread is a lane worker (of any lane).</summary>
    internal static bool IsWorkerThread => isWorkerThread;

    [ThreadStatic]
    private static bool isWorkerThread;

    private void Work()
    {
        isWorkerThread = true;
        using var worker = new LaneWorker();
        try
        {
            while (Next() is { } queue)
            {
                // RunBatch completes its callers with any failure; nothing escapes onto this thread.
                queue.RunBatch(worker);
            }
        }
        finally
        {
            exited.Signal();
        }
    }

    /// <summary>Waits for the next ready queue; null when the lane stops.</summary>
    /// <remarks>
    /// With nothing ready, one worker at a time spins for up to the lane's idle spin watching for new requests
    /// before it sleeps: under steady load the next request comes within microseconds, and waking a sleeping thread
    /// costs more than that on both sides (the caller's lock and pulse, the worker's context switch).
    /// </remarks>
    private LaneQueue? Next()
    {
        var spun = false;
        while (true)
        {
            long wait;
            lock (gate)
            {
                if (stopping) return null;
                if (Pick(Stopwatch.GetTimestamp(), out wait) is { } ready) return ready;
            }

            if (!spun && spinTime > 0 && wait == long.MaxValue && Interlocked.CompareExchange(ref spinning, 1, 0) == 0)
            {
                // Announced (a full fence): callers now count their requests in posted. Look once more, then spin.
                spun = true;
                var seen = Volatile.Read(ref posted);
                LaneQueue? found;
                lock (gate)
                {
                    found = stopping ? null : Pick(Stopwatch.GetTimestamp(), out wait);
                }

                if (found is null) SpinForWork(seen);
                Interlocked.Exchange(ref spinning, 0);
                if (found is not null) return found;

                continue;
            }

            lock (gate)
            {
                // Nothing ready: announce the sleep, then look once more (see Signal), so that callers take the lock
                // to wake a worker only while one is about to sleep, not while workers are busy picking batches.
                Interlocked.Increment(ref sleeping);
                try
                {
                    if (stopping) return null;
                    if (Pick(Stopwatch.GetTimestamp(), out wait) is { } late) return late;

                    // Monitor's timeout is in milliseconds: sleep through whole milliseconds only,
                    // and spin below for the microseconds a short MaxDelay leaves.
                    if (wait == long.MaxValue || wait > Stopwatch.Frequency / 1000)
                    {
                        var milliseconds = wait == long.MaxValue ? Timeout.Infinite : (int)(wait / (Stopwatch.Frequency / 1000));
                        Monitor.Wait(gate, milliseconds);
                        spun = false;
                        continue;
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref sleeping);
                }
            }

            Thread.Yield();
        }
    }

    /// <summary>Spins until a request is posted after <paramref name="seen"/>, the lane stops, or the idle spin passes.</summary>
    /// <remarks>
    /// The spin yields now and then (<see cref="SpinWait.SpinOnce(int)"/>): the threads that will queue the next
    /// requests, callers' continuations on the thread pool, may need this very core. (A pure busy spin was tried:
    /// with two workers on two cores it starved them, 0.2 M predictions/s instead of 1.5–2 M.)
    /// </remarks>
    private void SpinForWork(long seen)
    {
        var until = Stopwatch.GetTimestamp() + spinTime;
        var spinner = new SpinWait();
        while (Volatile.Read(ref posted) == seen && !stopping && Stopwatch.GetTimestamp() < until)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>
    /// The next ready queue in round-robin order, weighted by priority; otherwise null and how long until
    /// the earliest queue becomes ready by its delay (<see cref="long.MaxValue"/> when every queue is empty).
    /// </summary>
    private LaneQueue? Pick(long now, out long wait)
    {
        wait = long.MaxValue;
        var all = queues;
        for (var i = 0; i < all.Length; i++)
        {
            var index = (cursor + i) % all.Length;
            var queue = all[index];
            if (!queue.IsReady(now, out var readyAt))
            {
                if (readyAt != long.MaxValue) wait = Math.Min(wait, readyAt - now);
                queue.Turns = 0;
                continue;
            }

            if (++queue.Turns >= queue.Weight)
            {
                queue.Turns = 0;
                cursor = index + 1;
            }
            else
            {
                cursor = index;
            }

            return queue;
        }

        return null;
    }
}
