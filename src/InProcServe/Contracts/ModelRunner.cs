using System.Runtime.CompilerServices;

namespace InProcServe;

/// <summary>
/// Runs a model on typed records: each <typeparamref name="TInput"/> is written straight into a row of
/// pooled native batch memory by its generated binder, the model runs over it, and each
/// <typeparamref name="TOutput"/> is read straight out of the output rows. Create it with
/// <see cref="ModelRunner.Create{TInput, TOutput}"/>.
/// </summary>
/// <remarks>
/// Thread-safe: each call rents its own batch buffers from a small pool, so concurrent callers never share
/// memory. After warm-up a call allocates nothing beyond what <typeparamref name="TOutput"/> itself needs.
/// </remarks>
/// <typeparam name="TInput">The input record.</typeparam>
/// <typeparam name="TOutput">The output record.</typeparam>
public sealed class ModelRunner<TInput, TOutput> : IDisposable
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    private readonly IBatchTarget target;
    private readonly BatchPool pool;
    private volatile bool disposed;

    internal ModelRunner(ContractBinding binding, int maxBatchSize)
    {
        target = binding.Target;
        MaxBatchSize = maxBatchSize;
        pool = new BatchPool(() => new BatchBuffers(binding, maxBatchSize));
    }

    /// <summary>The session the runner runs; it stays open when the runner is disposed.</summary>
    /// <exception cref="InvalidOperationException">The runner runs a remote model, which has no local session (hosting makes such runners).</exception>
    public ModelSession Session => target as ModelSession ?? throw ContractBinding.NoSession(target);

    /// <summary>The most rows one run takes; longer spans are cut into runs of this size.</summary>
    public int MaxBatchSize { get; }

    /// <summary>Runs the model on one input, on the caller's thread.</summary>
    /// <param name="input">The input record.</param>
    /// <param name="cancellationToken">Cancels the run, also while ONNX Runtime is computing it.</param>
    /// <exception cref="ArgumentException">A vector member has the wrong length.</exception>
    /// <exception cref="ObjectDisposedException">The runner or its session was disposed.</exception>
    public TOutput Predict(in TInput input, CancellationToken cancellationToken = default)
    {
        var buffers = Rent();
        try
        {
            TInput.WriteRow(input, 0, buffers.Inputs);
            buffers.Run(1, cancellationToken);
            return TOutput.ReadRow(0, buffers.Outputs);
        }
        finally
        {
            pool.Return(buffers);
        }
    }

    /// <summary>
    /// Runs the model on many inputs, on the caller's thread, in runs of up to <see cref="MaxBatchSize"/> rows:
    /// <c>outputs[i]</c> is the result for <c>inputs[i]</c>.
    /// </summary>
    /// <param name="inputs">The input records.</param>
    /// <param name="outputs">Receives one output per input; must be as long as <paramref name="inputs"/>.</param>
    /// <param name="cancellationToken">Cancels between runs and during a run.</param>
    /// <exception cref="ArgumentException">The spans differ in length, or a vector member has the wrong length.</exception>
    /// <exception cref="ObjectDisposedException">The runner or its session was disposed.</exception>
    public void Predict(ReadOnlySpan<TInput> inputs, Span<TOutput> outputs, CancellationToken cancellationToken = default)
    {
        if (inputs.Length != outputs.Length)
        {
            throw new ArgumentException($"{inputs.Length} inputs need as many outputs, but the output span holds {outputs.Length}.", nameof(outputs));
        }

        var buffers = Rent();
        try
        {
            for (var start = 0; start < inputs.Length; start += MaxBatchSize)
            {
                var rows = Math.Min(MaxBatchSize, inputs.Length - start);
                TInput.WriteRows(inputs.Slice(start, rows), buffers.Inputs);
                buffers.Run(rows, cancellationToken);
                TOutput.ReadRows(buffers.Outputs, outputs.Slice(start, rows));
            }
        }
        finally
        {
            pool.Return(buffers);
        }
    }

    /// <summary>
    /// Runs the model once over the first <paramref name="rows"/> rows of a batch buffer without writing them (zeros
    /// in a fresh buffer), so that ONNX Runtime plans its memory and kernels for that batch size before real calls come.
    /// </summary>
    internal void WarmUp(int rows, CancellationToken cancellationToken)
    {
        var buffers = Rent();
        try
        {
            buffers.Run(rows, cancellationToken);
        }
        finally
        {
            pool.Return(buffers);
        }
    }

    /// <summary>
    /// Runs the model on a stream of inputs in runs of up to <see cref="MaxBatchSize"/> rows, with no queue: each run
    /// takes the inputs <paramref name="inputs"/> has ready, and the outputs come back in the order of the inputs.
    /// </summary>
    /// <remarks>
    /// <para>A run starts when it holds <see cref="MaxBatchSize"/> rows, when the source ends, or when the source has
    /// no next input ready (its <c>MoveNextAsync</c> doesn't complete at once): a slow producer gets each result as
    /// soon as its row has run instead of waiting for a full batch, and a fast one gets full batches. While a run and
    /// its outputs are handed out, the source is already asked for its next input, one request at a time.</para>
    /// <para>One set of batch buffers is rented for the whole stream. Runs happen on the thread that moves the
    /// returned enumerator. If the consumer stops early, or a run fails, the source is asked to stop through the
    /// token it was given, its pending <c>MoveNextAsync</c> is awaited (its outcome ignored) and it is disposed.</para>
    /// </remarks>
    /// <param name="inputs">The input records; enumerated once.</param>
    /// <param name="cancellationToken">
    /// Cancels the stream: passed to the source, checked between inputs and observed during a run. Combined with a
    /// token given through <see cref="TaskAsyncEnumerableExtensions.WithCancellation{T}(IAsyncEnumerable{T}, CancellationToken)"/>.
    /// </param>
    /// <returns>One output per input, in order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is null.</exception>
    /// <exception cref="ArgumentException">A vector member has the wrong length; the outputs of earlier runs have been returned.</exception>
    /// <exception cref="OperationCanceledException">The stream was canceled.</exception>
    /// <exception cref="ObjectDisposedException">The runner or its session was disposed.</exception>
    public IAsyncEnumerable<TOutput> PredictAsync(IAsyncEnumerable<TInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Stream(inputs, cancellationToken);
    }

    /// <summary>Frees the batch buffers; calls in flight finish first and free theirs when they return.</summary>
    public void Dispose()
    {
        disposed = true;
        pool.Dispose();
    }

    private async IAsyncEnumerable<TOutput> Stream(IAsyncEnumerable<TInput> inputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffers = Rent();
        // The source's token: canceled when the stream ends early, so a producer waiting for data stops waiting.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var source = inputs.GetAsyncEnumerator(stop.Token);

        // The source's MoveNextAsync not yet awaited; at most one at a time.
        ValueTask<bool> next = default;
        var pending = false;
        try
        {
            next = source.MoveNextAsync();
            pending = true;
            while (true)
            {
                pending = false;
                if (!await next.ConfigureAwait(false)) break;

                // Take what the source has ready, up to a full batch.
                var rows = 0;
                var ended = false;
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    TInput.WriteRow(source.Current, rows, buffers.Inputs);
                    rows++;
                    next = source.MoveNextAsync();
                    pending = true;
                    if (rows == MaxBatchSize || !next.IsCompleted) break;

                    pending = false;
                    if (!next.GetAwaiter().GetResult())
                    {
                        ended = true;
                        break;
                    }
                }

                await buffers.RunAsync(rows, cancellationToken).ConfigureAwait(false);
                for (var row = 0; row < rows; row++)
                {
                    yield return TOutput.ReadRow(row, buffers.Outputs);
                }

                if (ended) break;
            }
        }
        finally
        {
            if (pending)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await next.ConfigureAwait(false);
                }
                catch
                {
                    // The stream is over (the consumer left or a run failed): the source's last answer is not wanted.
                }
            }

            await source.DisposeAsync().ConfigureAwait(false);
            pool.Return(buffers);
        }
    }

    private BatchBuffers Rent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return pool.Rent();
    }
}

/// <summary>Creates runners: typed contracts bound to a model for calls on the caller's thread.</summary>
public static class ModelRunner
{
    /// <summary>
    /// Binds typed contracts to <paramref name="session"/>: <typeparamref name="TInput"/> fills its inputs,
    /// <typeparamref name="TOutput"/> reads its outputs. The contracts' declared tensors are checked against the model's
    /// signature here, once.
    /// </summary>
    /// <typeparam name="TInput">A type marked <see cref="ModelInputAttribute"/>.</typeparam>
    /// <typeparam name="TOutput">A type marked <see cref="ModelOutputAttribute"/>.</typeparam>
    /// <param name="session">The model.</param>
    /// <param name="maxBatchSize">The most rows one run takes. Default: 64. A model whose batch dimension is fixed at 1 gets 1.</param>
    /// <returns>A runner over the session; disposing it leaves the session open.</returns>
    /// <exception cref="InvalidOperationException">The contracts don't fit the model; the message lists every difference and the model's signature.</exception>
    public static ModelRunner<TInput, TOutput> Create<TInput, TOutput>(ModelSession session, int maxBatchSize = 64)
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput>
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        var binding = ContractBinding.Bind(session, $"{typeof(TInput).Name} → {typeof(TOutput).Name}", TInput.InputTensors, TOutput.OutputTensors);
        return new ModelRunner<TInput, TOutput>(binding, binding.FixedBatchSize ?? maxBatchSize);
    }
}
