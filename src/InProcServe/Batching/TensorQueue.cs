using System.Threading.Channels;

namespace InProcServe;

/// <summary>
/// The untyped requests of one model on a lane (Open Inference Protocol calls, models with no C# contract):
/// each request already holds a batch of rows, so it runs as one batch, taking its turn with the lane's
/// typed queues. Bounded like them; a canceled request that is still queued never runs.
/// </summary>
internal sealed class TensorQueue : LaneQueue
{
    /// <summary>The most untyped requests a model may have waiting on a lane.</summary>
    internal const int Capacity = 1024;

    private readonly Channel<Job> channel = Channel.CreateBounded<Job>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });
    private volatile ObjectDisposedException? closed;

    internal TensorQueue(ModelSession session) => Session = session;

    internal ModelSession Session { get; }

    internal override int Weight => 1;

    /// <summary>Whether no request waits.</summary>
    internal bool IsEmpty => channel.Reader.Count == 0;

    internal Task<RunOutputs> Enqueue(NamedTensor[] inputs, string[] outputNames, CancellationToken cancellationToken)
    {
        if (closed is { } reason) return Task.FromException<RunOutputs>(new ObjectDisposedException(reason.ObjectName, reason.Message));
        var job = new Job(inputs, outputNames, cancellationToken);
        if (!channel.Writer.TryWrite(job))
        {
            return Task.FromException<RunOutputs>(closed is null ? new QueueFullException(Session.Name, Capacity) : new ObjectDisposedException(closed.ObjectName, closed.Message));
        }

        return job.Completion.Task;
    }

    internal override bool IsReady(long now, out long readyAt)
    {
        var ready = channel.Reader.Count > 0;
        readyAt = ready ? now : long.MaxValue;
        return ready;
    }

    internal override void RunBatch(LaneWorker worker)
    {
        if (!channel.Reader.TryRead(out var job)) return;
        if (job.CancellationToken.IsCancellationRequested)
        {
            job.Completion.TrySetCanceled(job.CancellationToken);
            return;
        }

        try
        {
            job.Completion.TrySetResult(Session.Run(job.Inputs, job.OutputNames, job.CancellationToken));
        }
        catch (Exception error)
        {
            // Nothing may escape onto the lane's thread.
            job.Completion.TrySetException(error);
        }
    }

    internal override void Abort(ObjectDisposedException reason)
    {
        closed = reason;
        channel.Writer.TryComplete();
        while (channel.Reader.TryRead(out var job))
        {
            job.Completion.TrySetException(new ObjectDisposedException(reason.ObjectName, reason.Message));
        }
    }

    private sealed record Job(NamedTensor[] Inputs, string[] OutputNames, CancellationToken CancellationToken)
    {
        internal TaskCompletionSource<RunOutputs> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
