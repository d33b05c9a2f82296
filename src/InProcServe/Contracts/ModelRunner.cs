namespace InProcServe;

/// <summary>
/// Runs a model on typed records: each <typeparamref name="TInput"/> is written straight into a row of
/// pooled native batch memory by its generated binder, the model runs over it, and each
/// <typeparamref name="TOutput"/> is read straight out of the output rows. Create it with
/// <see cref="ModelSession.CreateRunner{TInput, TOutput}"/>.
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
    private readonly ModelSession session;
    private readonly BatchPool pool;
    private volatile bool disposed;

    internal ModelRunner(ContractBinding binding, int maxBatchSize)
    {
        session = binding.Session;
        MaxBatchSize = maxBatchSize;
        pool = new BatchPool(() => new BatchBuffers(binding, maxBatchSize));
    }

    /// <summary>The session the runner runs; it stays open when the runner is disposed.</summary>
    public ModelSession Session => session;

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
            buffers.Run(session, 1, cancellationToken);
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
                buffers.Run(session, rows, cancellationToken);
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
            buffers.Run(session, rows, cancellationToken);
        }
        finally
        {
            pool.Return(buffers);
        }
    }

    /// <summary>Frees the batch buffers; calls in flight finish first and free theirs when they return.</summary>
    public void Dispose()
    {
        disposed = true;
        pool.Dispose();
    }

    private BatchBuffers Rent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return pool.Rent();
    }
}
