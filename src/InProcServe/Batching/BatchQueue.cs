using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace InProcServe;

/// <summary>
/// One model's queue on a lane: requests wait in a channel until a lane worker takes up to
/// <see cref="BatchingOptions.MaxBatchSize"/> of them, writes them into pooled batch buffers, runs the model and
/// hands each caller its own row of the outputs.
/// </summary>
/// <remarks>
/// A remote model's batch (<see cref="IBatchTarget.ConcurrentRuns"/> set) is assembled on the worker the same way, but
/// its run waits on the network: the worker starts it and goes back to the lane, and the batch's answers are handed out
/// when the reply comes. The queue then counts as not ready while that many batches are in flight, so requests gather
/// into larger batches instead of one call each, and the lane is signaled as each one lands.
/// </remarks>
/// <remarks>
/// The channel is unbounded; <see cref="slots"/> bounds it. A bounded channel frees a slot only when an item
/// is read, but a request canceled or timed out while queued must give its slot back at once: it leaves the
/// count here when it is completed, and its entry is skipped when a worker reaches it.
/// </remarks>
internal sealed class BatchQueue<TInput, TOutput> : LaneQueue
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    private readonly Channel<BatchRequest<TInput, TOutput>> channel =
        Channel.CreateUnbounded<BatchRequest<TInput, TOutput>>(new UnboundedChannelOptions { AllowSynchronousContinuations = false });

    private readonly ConcurrentQueue<BatchRequest<TInput, TOutput>> free = new();

    /// <summary>
    /// The request this thread let go of last, kept for its next call: a caller usually reads its result and queues
    /// its next call on the same thread, so the request is reused there without touching the shared pool.
    /// </summary>
    [ThreadStatic]
    private static BatchRequest<TInput, TOutput>? reusable;

    private readonly QueueSlots slots;
    private readonly IBatchTarget target;
    private readonly BatchPool pool;
    private readonly ExecutionLane lane;
    private readonly long maxDelay;
    private readonly int maxBatchSize;

    /// <summary>Batches being collected or run; disposal waits for them.</summary>
    private int running;

    /// <summary>The most remote runs in flight at once; null for a local model, whose runs hold a lane worker.</summary>
    private readonly int? concurrentRuns;

    /// <summary>Remote runs started and not yet answered.</summary>
    private int inFlight;

    private volatile ObjectDisposedException? closed;
    private TaskCompletionSource? drained;

    internal BatchQueue(ContractBinding binding, ExecutionLane lane, BatchingOptions options)
    {
        target = binding.Target;
        concurrentRuns = target.ConcurrentRuns;
        this.lane = lane;
        Options = options;
        maxBatchSize = binding.FixedBatchSize ?? options.MaxBatchSize;
        maxDelay = (long)(options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
        slots = new QueueSlots(options.QueueCapacity);
        pool = new BatchPool(() => new BatchBuffers(binding, maxBatchSize));
    }

    internal string ModelName => target.Name;

    internal BatchingOptions Options { get; }

    internal int MaxBatchSize => maxBatchSize;

    internal int Count => slots.Taken;

    internal override int Weight => Options.Priority;

    /// <summary>Told about each dequeued request and each batch run; set before the first request.</summary>
    internal IBatchObserver? Observer { get; set; }

    /// <summary>Queues one call; the fast path (a free slot) completes synchronously and allocates nothing.</summary>
    internal ValueTask<TOutput> Enqueue(in TInput input, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (closed is { } reason) return ValueTask.FromException<TOutput>(Closed(reason));
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<TOutput>(cancellationToken);

        if (slots.TryTake())
        {
            // The clock is read only when something needs the time: a MaxDelay, a deadline, a queue-time metric.
            var needsTime = maxDelay != 0 || timeout.HasValue || Options.DefaultTimeout.HasValue || Observer?.TimesQueue == true;
            return Add(input, needsTime ? Stopwatch.GetTimestamp() : 0, timeout, cancellationToken);
        }

        if (Options.FullMode == QueueFullMode.Reject)
        {
            return ValueTask.FromException<TOutput>(new QueueFullException(ModelName, Options.QueueCapacity));
        }

        return WaitForSlot(input, timeout, cancellationToken);
    }

    internal override bool IsReady(long now, out long readyAt)
    {
        readyAt = long.MaxValue;
        var count = slots.Taken;
        if (count <= 0 || !channel.Reader.TryPeek(out var oldest))
        {
            return false;
        }

        if (concurrentRuns is { } limit && Volatile.Read(ref inFlight) >= limit)
        {
            return false; // A landing run signals the lane.
        }

        if (count >= maxBatchSize || maxDelay == 0)
        {
            readyAt = now;
            return true;
        }

        readyAt = oldest.EnqueuedAt + maxDelay;
        return readyAt <= now;
    }

    internal override void RunBatch(LaneWorker worker)
    {
        Interlocked.Increment(ref running);
        var requests = ArrayPool<BatchRequest<TInput, TOutput>?>.Shared.Rent(maxBatchSize);
        BatchBuffers? buffers = null;
        var taken = 0;
        var placesFreed = false;
        var handedOff = false;
        try
        {
            if (closed is not null) return;
            if (!TryRent(out buffers)) return;
            worker.Begin();
            var now = Stopwatch.GetTimestamp();
            while (taken < maxBatchSize && channel.Reader.TryRead(out var request))
            {
                if (request.TimedOutAt(now) || !request.TryStart(worker))
                {
                    request.ReleaseFromQueue();
                    continue;
                }

                requests[taken++] = request;
            }

            // The batch's requests give their places back in one step, before any of them is written or run.
            placesFreed = true;
            if (taken > 0) slots.Release(taken);

            var inputs = buffers.Inputs;
            var rows = 0;
            for (var i = 0; i < taken; i++)
            {
                var request = requests[i]!;
                if (request.EnqueuedAt != 0) Observer?.Dequeued(now - request.EnqueuedAt);
                try
                {
                    // A throwing row (a vector of the wrong length) fails its own request; the next one takes its row.
                    TInput.WriteRow(request.Input, rows, inputs);
                    requests[i] = null;
                    requests[rows++] = request;
                }
                catch (Exception error)
                {
                    request.Fail(error);
                    request.ReleaseFromQueue();
                    requests[i] = null;
                }
            }

            if (rows > 0 && concurrentRuns is not null)
            {
                // The run, its requests and its buffers belong to the remote call from here on.
                Interlocked.Increment(ref inFlight);
                handedOff = true;
                _ = RunRemoteAsync(buffers, requests, rows);
            }
            else if (rows > 0)
            {
                Run(worker, buffers, requests.AsSpan(0, rows));
            }
        }
        catch (Exception error)
        {
            // Nothing may escape onto the lane's thread: fail this batch's callers instead.
            for (var i = 0; i < taken; i++) requests[i]?.Fail(error);
        }
        finally
        {
            if (!placesFreed && taken > 0) slots.Release(taken);
            if (!handedOff) Finish(requests, taken, buffers);
        }
    }

    /// <summary>
    /// Ends a batch: lets go of the requests still in it (those answered were handed to their result's work item),
    /// returns its array and buffers, and counts it out for disposal.
    /// </summary>
    private void Finish(BatchRequest<TInput, TOutput>?[] requests, int taken, BatchBuffers? buffers)
    {
        for (var i = 0; i < taken; i++)
        {
            requests[i]?.ReleaseFromQueue();
        }

        ArrayPool<BatchRequest<TInput, TOutput>?>.Shared.Return(requests, clearArray: true);
        if (buffers is not null) pool.Return(buffers);
        if (Interlocked.Decrement(ref running) == 0 && closed is not null) drained?.TrySetResult();
    }

    /// <summary>
    /// Runs a remote batch and hands out its results when the reply lands; starts on the lane worker (which writes the
    /// request) and goes on where the reply completes. Never throws: a failed run fails the batch's callers.
    /// </summary>
    /// <remarks>
    /// A remote run is not stopped when every caller of its batch leaves: the callers have their answers at once, and
    /// the run ends within the remote model's timeout.
    /// </remarks>
    private async Task RunRemoteAsync(BatchBuffers buffers, BatchRequest<TInput, TOutput>?[] requests, int rows)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await buffers.RunAsync(rows, CancellationToken.None).ConfigureAwait(false);
            Observer?.BatchRan(rows, Stopwatch.GetTimestamp() - started);
            HandOut(buffers.Outputs, requests.AsSpan(0, rows));
        }
        catch (Exception error)
        {
            for (var i = 0; i < rows; i++) requests[i]?.Fail(error);
        }
        finally
        {
            Finish(requests, rows, buffers);
            Interlocked.Decrement(ref inFlight);
            lane.Signal();
        }
    }

    internal override void Abort(ObjectDisposedException reason)
    {
        Close(reason);
        while (channel.Reader.TryRead(out var request))
        {
            request.Abort(Closed(reason));
            request.ReleaseFromQueue();
        }
    }

    /// <summary>Stops taking calls, fails the queued ones and waits for the batches in flight.</summary>
    internal async ValueTask DisposeAsync(string owner)
    {
        lane.Unregister(this);
        drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Abort(new ObjectDisposedException(owner, $"Model '{ModelName}': the batcher was disposed."));
        if (Volatile.Read(ref running) == 0) drained.TrySetResult();
        await drained.Task.ConfigureAwait(false);
        pool.Dispose();
    }

    /// <summary>A request was completed while queued (canceled, timed out, aborted): its place is free.</summary>
    internal void LeftQueue() => slots.Release();

    /// <summary>
    /// Pools a request both owners let go of. The pool keeps every request it is given: it holds at most as many as
    /// were ever alive at once (queued, running, or answered and not yet read), which were allocated anyway.
    /// </summary>
    internal void Return(BatchRequest<TInput, TOutput> request)
    {
        if (reusable is null && !ExecutionLane.IsWorkerThread)
        {
            reusable = request;
            return;
        }

        free.Enqueue(request);
    }

    /// <summary>
    /// Runs the batch and hands out its results. A request whose result is handed out leaves <paramref name="batch"/>
    /// (set to null): the work item that completes it lets go of it for the lane.
    /// </summary>
    private void Run(LaneWorker worker, BatchBuffers buffers, Span<BatchRequest<TInput, TOutput>?> batch)
    {
        if (!worker.Start())
        {
            return; // Every request was canceled before the run: skip it.
        }

        bool ran;
        var started = Stopwatch.GetTimestamp();
        try
        {
            ran = buffers.Run(batch.Length, worker.Control);
        }
        catch (Exception error)
        {
            worker.End();
            foreach (var request in batch) request!.Fail(error);
            return;
        }

        worker.End();
        if (!ran)
        {
            return; // Terminated: every request was canceled or timed out and has its answer.
        }

        Observer?.BatchRan(batch.Length, Stopwatch.GetTimestamp() - started);
        HandOut(buffers.Outputs, batch);
    }

    /// <summary>
    /// Hands out a batch's results. A request whose result is handed out leaves <paramref name="batch"/> (set to null):
    /// the work item that completes it lets go of it for the lane.
    /// </summary>
    private void HandOut(BatchTensors outputs, Span<BatchRequest<TInput, TOutput>?> batch)
    {
        // The results go out in up to one chain per core, each handed out by one thread-pool work item.
        var chainLength = (batch.Length + Environment.ProcessorCount - 1) / Environment.ProcessorCount;
        BatchRequest<TInput, TOutput>? head = null, tail = null;
        var chained = 0;
        for (var row = 0; row < batch.Length; row++)
        {
            var request = batch[row]!;
            if (!request.IsRunning) continue;
            TOutput output;
            try
            {
                output = TOutput.ReadRow(row, outputs);
            }
            catch (Exception error)
            {
                request.Fail(error);
                continue;
            }

            if (!request.TryComplete(output, tail)) continue;
            batch[row] = null;
            head ??= request;
            tail = request;
            if (++chained == chainLength)
            {
                ThreadPool.UnsafeQueueUserWorkItem(head, preferLocal: false);
                head = tail = null;
                chained = 0;
            }
        }

        if (head is not null) ThreadPool.UnsafeQueueUserWorkItem(head, preferLocal: false);
    }

    /// <summary>
    /// Rents batch buffers; when that fails (the session was disposed, memory ran out), fails the requests the
    /// batch would have taken, so that they don't stay queued and the worker doesn't retry them forever.
    /// </summary>
    private bool TryRent([NotNullWhen(true)] out BatchBuffers? buffers)
    {
        try
        {
            buffers = pool.Rent();
            return true;
        }
        catch (Exception error)
        {
            for (var taken = 0; taken < maxBatchSize && channel.Reader.TryRead(out var request); taken++)
            {
                request.Abort(error);
                request.ReleaseFromQueue();
            }

            buffers = null;
            return false;
        }
    }

    private ValueTask<TOutput> Add(in TInput input, long enqueuedAt, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var request = reusable;
        if (request is not null)
        {
            // Another queue's request (another version of the same contract) is dropped, not kept alive with its queue.
            reusable = null;
            if (!request.BelongsTo(this)) request = null;
        }

        request ??= free.TryDequeue(out var pooled) ? pooled : new BatchRequest<TInput, TOutput>(this);
        request.Start(input, enqueuedAt, timeout ?? Options.DefaultTimeout, cancellationToken);
        var task = request.Task;
        if (!channel.Writer.TryWrite(request))
        {
            // Closed between the check and the write.
            request.Abort(Closed(closed!));
            request.ReleaseFromQueue();
            return task;
        }

        lane.Signal();
        return task;
    }

    private async ValueTask<TOutput> WaitForSlot(TInput input, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var enqueuedAt = Stopwatch.GetTimestamp();
        var deadline = timeout ?? Options.DefaultTimeout;
        if (!await slots.WaitAsync(deadline ?? Timeout.InfiniteTimeSpan, () => closed is not null, cancellationToken).ConfigureAwait(false))
        {
            if (closed is { } reason) throw Closed(reason);
            throw WaitedTooLong(deadline!.Value);
        }

        // The deadline counts from the call. A place that came after it (a late timer on a busy machine) goes back
        // to the next waiter: this caller's answer is the timeout, not a run it no longer waits for.
        if (deadline is { } limit && Stopwatch.GetElapsedTime(enqueuedAt) >= limit)
        {
            slots.Release();
            throw WaitedTooLong(limit);
        }

        return await Add(input, enqueuedAt, deadline, cancellationToken).ConfigureAwait(false);
    }

    private TimeoutException WaitedTooLong(TimeSpan deadline) =>
        new($"Model '{ModelName}': the request passed its deadline of {deadline.TotalMilliseconds:0.###} ms waiting for a place in the full queue ({Options.QueueCapacity} requests).");

    private void Close(ObjectDisposedException reason)
    {
        if (closed is not null) return;
        closed = reason;
        channel.Writer.TryComplete();
        slots.WakeWaiters(int.MaxValue); // Every waiter for a slot wakes, sees the queue closed and fails.
    }

    /// <summary>A fresh exception per caller: one exception object thrown on many threads would mix their stack traces.</summary>
    private static ObjectDisposedException Closed(ObjectDisposedException reason) => new(reason.ObjectName, reason.Message);
}
