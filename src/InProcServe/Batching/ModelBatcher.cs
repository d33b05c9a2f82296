namespace InProcServe;

/// <summary>
/// Queued predictions: each call waits in the model's bounded queue until a worker of its
/// <see cref="ExecutionLane"/> runs it in a batch with other calls, then gets back its own row of the outputs.
/// Create it with <see cref="ModelBatcher.Create{TInput, TOutput}"/>.
/// </summary>
/// <remarks>
/// A batch closes when it holds <see cref="BatchingOptions.MaxBatchSize"/> requests or when its oldest request
/// has waited <see cref="BatchingOptions.MaxDelay"/>. A request canceled, or past its deadline, while queued
/// completes at once as canceled or timed out, gives its queue slot back and never runs; if every request of a
/// running batch is canceled, the run itself is terminated. After warm-up a call allocates nothing beyond what
/// <typeparamref name="TOutput"/> needs, as long as it finds a free slot.
/// <para>Callers' continuations never run on a lane worker. The results of a batch are handed out on the thread pool
/// by up to one work item per processor, each completing its share of the batch's callers in turn, so a caller's
/// continuation runs inline there: code that runs long after the await delays the callers after it in the batch,
/// and should move itself off (<see cref="Task.Yield"/>, <see cref="Task.Run(Action)"/>). A failed, canceled or timed-out
/// call completes with its continuation queued on its own.</para>
/// </remarks>
/// <typeparam name="TInput">The input record.</typeparam>
/// <typeparam name="TOutput">The output record.</typeparam>
public sealed class ModelBatcher<TInput, TOutput> : IAsyncDisposable
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    private readonly BatchQueue<TInput, TOutput> queue;
    private readonly IBatchTarget target;
    private readonly Lock disposeGate = new();
    private Task? disposed;

    internal ModelBatcher(ContractBinding binding, ExecutionLane lane, BatchingOptions options)
    {
        queue = new BatchQueue<TInput, TOutput>(binding, lane, options);
        target = binding.Target;
        Lane = lane;
        lane.Register(queue);
    }

    /// <summary>The session batches run on; it stays open when the batcher is disposed.</summary>
    /// <exception cref="InvalidOperationException">The batcher runs a remote model, which has no local session (hosting makes such batchers).</exception>
    public ModelSession Session => target as ModelSession ?? throw ContractBinding.NoSession(target);

    /// <summary>The lane whose workers run the batches.</summary>
    public ExecutionLane Lane { get; }

    /// <summary>The options the batcher was created with (a copy; changing it has no effect).</summary>
    public BatchingOptions Options => queue.Options;

    /// <summary>The most requests one run takes: <see cref="BatchingOptions.MaxBatchSize"/>, or 1 for a model whose batch dimension is fixed at 1.</summary>
    public int MaxBatchSize => queue.MaxBatchSize;

    /// <summary>Requests waiting in the queue now.</summary>
    public int QueueLength => queue.Count;

    /// <summary>The most requests the queue holds: <see cref="BatchingOptions.QueueCapacity"/>.</summary>
    internal int QueueCapacity => queue.Options.QueueCapacity;

    /// <summary>Told about each dequeued request and each batch run (hosting records metrics with it); set before the first call.</summary>
    internal IBatchObserver? Observer
    {
        set => queue.Observer = value;
    }

    /// <summary>Queues a prediction with the default deadline (<see cref="BatchingOptions.DefaultTimeout"/>).</summary>
    /// <param name="input">The input record.</param>
    /// <param name="cancellationToken">Cancels the request: while queued it never runs; while running it stops waiting.</param>
    /// <returns>The output for <paramref name="input"/>. Await it once.</returns>
    /// <exception cref="QueueFullException">The queue is full and <see cref="BatchingOptions.FullMode"/> is <see cref="QueueFullMode.Reject"/>.</exception>
    /// <exception cref="TimeoutException">The deadline passed before the result came.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    /// <exception cref="ArgumentException">A vector member has the wrong length.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed the batch.</exception>
    /// <exception cref="ObjectDisposedException">The batcher, its lane or its session was disposed.</exception>
    public ValueTask<TOutput> PredictAsync(TInput input, CancellationToken cancellationToken = default) =>
        queue.Enqueue(input, null, cancellationToken);

    /// <summary>Queues a prediction that must complete within <paramref name="timeout"/>.</summary>
    /// <param name="input">The input record.</param>
    /// <param name="timeout">The deadline, counted from this call (waiting for a slot in a full queue included).</param>
    /// <param name="cancellationToken">Cancels the request: while queued it never runs; while running it stops waiting.</param>
    /// <returns>The output for <paramref name="input"/>. Await it once.</returns>
    /// <inheritdoc cref="PredictAsync(TInput, CancellationToken)" path="/exception"/>
    public ValueTask<TOutput> PredictAsync(TInput input, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return queue.Enqueue(input, timeout, cancellationToken);
    }

    /// <summary>
    /// Stops taking calls: queued requests fail with <see cref="ObjectDisposedException"/>, batches already running
    /// finish and answer their callers, then the batch buffers are freed. Later calls fail with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        lock (disposeGate)
        {
            disposed ??= queue.DisposeAsync(nameof(ModelBatcher<TInput, TOutput>)).AsTask();
        }

        await disposed.ConfigureAwait(false);
    }
}

/// <summary>Creates batchers: typed contracts bound to a model for queued calls, run in batches on a lane.</summary>
public static class ModelBatcher
{
    /// <summary>
    /// Binds typed contracts to <paramref name="session"/>, as <see cref="ModelRunner.Create{TInput, TOutput}"/> does, for
    /// queued calls: each call waits in a bounded queue until a worker of <paramref name="lane"/> runs it in a batch with
    /// other calls.
    /// </summary>
    /// <typeparam name="TInput">A type marked <see cref="ModelInputAttribute"/>.</typeparam>
    /// <typeparam name="TOutput">A type marked <see cref="ModelOutputAttribute"/>.</typeparam>
    /// <param name="session">The model.</param>
    /// <param name="lane">The lane whose workers run the batches; several models may share it.</param>
    /// <param name="options">Batch size, delay, queue capacity and deadlines. Default: null, the defaults of <see cref="BatchingOptions"/>.</param>
    /// <returns>A batcher over the session; disposing it leaves the session and the lane open.</returns>
    /// <exception cref="InvalidOperationException">The contracts don't fit the model; the message lists every difference and the model's signature.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message names every invalid value.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="lane"/> was disposed.</exception>
    public static ModelBatcher<TInput, TOutput> Create<TInput, TOutput>(ModelSession session, ExecutionLane lane, BatchingOptions? options = null)
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput>
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(lane);
        options ??= new BatchingOptions();
        options.Validate(session.Name);
        var binding = ContractBinding.Bind(session, $"{typeof(TInput).Name} → {typeof(TOutput).Name}", TInput.InputTensors, TOutput.OutputTensors);
        return new ModelBatcher<TInput, TOutput>(binding, lane, options.Clone());
    }
}
