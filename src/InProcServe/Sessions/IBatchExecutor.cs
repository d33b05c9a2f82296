namespace InProcServe;

/// <summary>
/// Runs a model over the first rows of a batch's buffers and leaves the outputs in the output buffers: an ONNX Runtime
/// binding (<see cref="BatchBinding"/>) or a remote call. Used by one caller at a time, like the buffers it runs.
/// </summary>
internal interface IBatchExecutor : IDisposable
{
    /// <summary>Runs the model over the first <paramref name="rows"/> rows, on the calling thread until it is done.</summary>
    void Run(int rows, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="Run(int, CancellationToken)"/> under a lane worker's run options; only for a target whose
    /// <see cref="IBatchTarget.ConcurrentRuns"/> is null (a lane worker runs the batch).
    /// </summary>
    /// <returns>False when the run was terminated.</returns>
    bool Run(int rows, RunControl control);

    /// <summary>Runs the model over the first <paramref name="rows"/> rows; completes at once for a run that computes on the calling thread.</summary>
    ValueTask RunAsync(int rows, CancellationToken cancellationToken);
}
