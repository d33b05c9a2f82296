using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace InProcServe;

/// <summary>
/// One queued call: its input, its deadline, and the completion its caller awaits. Pooled: an instance is
/// reused once both of its owners let go of it, the caller (after reading the result) and the queue (after
/// the lane is done with it), so a call allocates nothing after warm-up.
/// </summary>
/// <remarks>
/// The state moves once from <see cref="Queued"/> to <see cref="Running"/> to <see cref="Done"/>, or from
/// <see cref="Queued"/> straight to <see cref="Done"/>; whoever wins a transition by compare-exchange acts on
/// it, so a result, a cancellation and a deadline racing each other complete the call exactly once.
/// A caller's code never runs on a lane worker. Results are handed out by thread-pool work items, one per chain
/// of requests (<see cref="TryComplete"/>, <see cref="IThreadPoolWorkItem.Execute"/>), which run the callers'
/// continuations in turn: one work item per request costs a thread-pool dispatch and often a thread wake-up per
/// call, which on a small machine costs more than the model. Failures complete with asynchronous continuations.
/// </remarks>
internal sealed class BatchRequest<TInput, TOutput> : IValueTaskSource<TOutput>, IThreadPoolWorkItem
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    private const int Queued = 0;
    private const int Running = 1;
    private const int Done = 2;

    private readonly BatchQueue<TInput, TOutput> queue;
    private ManualResetValueTaskSourceCore<TOutput> completion = new() { RunContinuationsAsynchronously = true };
    private int state;
    private int owners;
    private CancellationToken callerToken;
    private CancellationTokenRegistration callerRegistration;
    private CancellationTokenSource? deadlineSource;
    private CancellationTokenRegistration deadlineRegistration;
    private TimeSpan timeout;
    private LaneWorker? worker;
    private int generation;

    /// <summary>The result claimed by <see cref="TryComplete"/>, handed out by <see cref="IThreadPoolWorkItem.Execute"/>.</summary>
    private TOutput result = default!;

    /// <summary>The next request of the chain whose results one work item hands out.</summary>
    private BatchRequest<TInput, TOutput>? nextResult;

    internal BatchRequest(BatchQueue<TInput, TOutput> queue) => this.queue = queue;

    /// <summary>The caller's input; read by the lane worker that writes it into a batch.</summary>
    internal TInput Input { get; private set; } = default!;

    /// <summary>When the call was queued (<see cref="Stopwatch"/> timestamp), or 0 when nothing needed the time.</summary>
    internal long EnqueuedAt { get; private set; }

    /// <summary>When the deadline passes (<see cref="Stopwatch"/> timestamp; <see cref="long.MaxValue"/> for none).</summary>
    internal long DeadlineAt { get; private set; }

    internal bool IsRunning => Volatile.Read(ref state) == Running;

    /// <summary>Whether this request is pooled by <paramref name="owner"/>.</summary>
    internal bool BelongsTo(BatchQueue<TInput, TOutput> owner) => queue == owner;

    /// <summary>The awaitable the caller gets.</summary>
    internal ValueTask<TOutput> Task => new(this, completion.Version);

    /// <summary>Arms a rented request: the queue's slot is taken and counted, the request is not yet in the channel.</summary>
    /// <remarks>A token already canceled, or canceled during this call, completes the request at once; it is queued anyway and skipped.</remarks>
    internal void Start(in TInput input, long enqueuedAt, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        Input = input;
        EnqueuedAt = enqueuedAt;
        DeadlineAt = timeout is { } t ? enqueuedAt + (long)(t.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        state = Queued;
        owners = 2;
        callerToken = cancellationToken;
        if (cancellationToken.CanBeCanceled)
        {
            callerRegistration = cancellationToken.UnsafeRegister(static r => ((BatchRequest<TInput, TOutput>)r!).Cancel(), this);
        }

        if (timeout is { } deadline)
        {
            this.timeout = deadline;
            deadlineSource ??= new CancellationTokenSource();
            deadlineRegistration = deadlineSource.Token.UnsafeRegister(static r => ((BatchRequest<TInput, TOutput>)r!).TimeOut(), this);
            deadlineSource.CancelAfter(deadline);
        }
    }

    /// <summary>
    /// Moves a queued request into the batch being collected by <paramref name="laneWorker"/>; the batch gives its
    /// requests' queue places back together once it is collected.
    /// </summary>
    /// <returns>False when it was completed while queued (canceled, timed out, aborted), and gave its place back: skip it.</returns>
    internal bool TryStart(LaneWorker laneWorker)
    {
        worker = laneWorker;
        generation = laneWorker.Join();
        if (Interlocked.CompareExchange(ref state, Running, Queued) == Queued)
        {
            return true;
        }

        laneWorker.Abandon(generation);
        return false;
    }

    /// <summary>
    /// Claims the request for <paramref name="output"/>, unless it was canceled or timed out while running, and
    /// appends it to the chain ending at <paramref name="tail"/>. Nothing reaches the caller until the chain's head
    /// is queued to the thread pool.
    /// </summary>
    internal bool TryComplete(TOutput output, BatchRequest<TInput, TOutput>? tail)
    {
        if (Interlocked.CompareExchange(ref state, Done, Running) != Running)
        {
            return false;
        }

        result = output;
        if (tail is not null) tail.nextResult = this;
        return true;
    }

    /// <summary>
    /// Hands out the results of the chain starting here; callers' continuations run inline, one after another.
    /// Each request is then let go of for the lane, here rather than on the lane's thread: a caller's continuation
    /// has usually just read its result on this thread, so the request is pooled where it will be reused.
    /// </summary>
    void IThreadPoolWorkItem.Execute()
    {
        for (var request = this; request is not null;)
        {
            // Read before completing: once its caller has the result, the request may be reset and reused.
            var next = request.nextResult;
            request.nextResult = null;
            request.completion.RunContinuationsAsynchronously = false;
            request.completion.SetResult(request.result);
            request.Release();
            request = next;
        }
    }

    /// <summary>Fails a running request (a bad row, a failed run).</summary>
    internal void Fail(Exception error)
    {
        if (Interlocked.CompareExchange(ref state, Done, Running) == Running)
        {
            worker!.Abandon(generation);
            completion.SetException(error);
        }
    }

    /// <summary>Fails a request that is still queued (the batcher or its lane was disposed, its batch could not be assembled).</summary>
    internal void Abort(Exception error)
    {
        if (Interlocked.CompareExchange(ref state, Done, Queued) == Queued)
        {
            queue.LeftQueue();
            completion.SetException(error);
        }
    }

    /// <summary>The lane is done with this request.</summary>
    internal void ReleaseFromQueue() => Release();

    /// <summary>Fails the request as timed out if its deadline passed (checked when a batch is collected).</summary>
    internal bool TimedOutAt(long now)
    {
        if (now < DeadlineAt) return false;
        TimeOut();
        return true;
    }

    private void Cancel() =>
        Stop(new OperationCanceledException($"Model '{queue.ModelName}': the request was canceled.", callerToken));

    private void TimeOut() =>
        Stop(new TimeoutException($"Model '{queue.ModelName}': the request passed its deadline of {timeout.TotalMilliseconds:0.###} ms."));

    /// <summary>Completes a canceled or timed-out request: a queued one never runs; a running one stops waiting for its batch.</summary>
    private void Stop(Exception error)
    {
        if (Interlocked.CompareExchange(ref state, Done, Queued) == Queued)
        {
            queue.LeftQueue();
            completion.SetException(error);
        }
        else if (Interlocked.CompareExchange(ref state, Done, Running) == Running)
        {
            worker!.Abandon(generation);
            completion.SetException(error);
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref owners) != 0)
        {
            return;
        }

        // Both owners are done: no result will be set or read. Unhook the callbacks (waiting for one that
        // is running to finish) so a late cancellation can't reach this request's next use.
        callerRegistration.Dispose();
        callerRegistration = default;
        callerToken = default;
        deadlineRegistration.Dispose();
        deadlineRegistration = default;
        if (deadlineSource is not null && !deadlineSource.TryReset())
        {
            deadlineSource.Dispose();
            deadlineSource = null;
        }

        worker = null;
        Input = default!;
        result = default!;
        completion.Reset();
        completion.RunContinuationsAsynchronously = true;
        queue.Return(this);
    }

    TOutput IValueTaskSource<TOutput>.GetResult(short token)
    {
        if (token != completion.Version)
        {
            // Awaited twice: the first await already handed the request back.
            throw new InvalidOperationException("A queued prediction's ValueTask can be awaited only once.");
        }

        try
        {
            return completion.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    ValueTaskSourceStatus IValueTaskSource<TOutput>.GetStatus(short token) => completion.GetStatus(token);

    void IValueTaskSource<TOutput>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        completion.OnCompleted(continuation, state, token, flags);
}
