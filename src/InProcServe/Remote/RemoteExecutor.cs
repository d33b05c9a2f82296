namespace InProcServe;

/// <summary>
/// What a remote model's executors share: a batch is sent with <see cref="RunAsync"/> (the batcher awaits it off the lane
/// worker); a direct call, which is synchronous, waits for the answer on its own thread.
/// </summary>
internal abstract class RemoteExecutor(RemoteModel remote) : IBatchExecutor
{
    /// <summary>The model the batches are for: its replicas, and its name and origin for messages.</summary>
    private protected RemoteModel Remote { get; } = remote;

    /// <summary>A direct (synchronous) call of a remote model waits for the answer on the calling thread.</summary>
    public void Run(int rows, CancellationToken cancellationToken)
    {
        var run = RunAsync(rows, cancellationToken);
        if (run.IsCompletedSuccessfully) return;
        run.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Never called: a remote model's batcher runs its batches with <see cref="RunAsync"/>, off the lane worker.</summary>
    public bool Run(int rows, RunControl control) =>
        throw new InvalidOperationException($"Model {Remote.Described}: a remote run does not take a lane worker's run options; the batcher must call RunAsync.");

    public abstract ValueTask RunAsync(int rows, CancellationToken cancellationToken);

    /// <summary>Nothing native to free: the request buffers are managed, and the clients belong to the model.</summary>
    public void Dispose()
    {
    }
}
