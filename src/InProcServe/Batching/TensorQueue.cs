using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace InProcServe;

/// <summary>
/// The untyped requests of one model on a lane (Open Inference Protocol calls, models with no C# contract): each
/// request already holds a batch of rows. Requests waiting together are joined along the batch dimension into one
/// run, as Triton's dynamic batcher joins requests, when the model batches (every input and every requested output
/// has the same dynamic first dimension) and their other dimensions agree; the outputs are split back so each
/// request gets its own rows. Bounded like the typed queues; a canceled request that is still queued never runs.
/// </summary>
internal sealed class TensorQueue : LaneQueue
{
    /// <summary>The most untyped requests a model may have waiting on a lane.</summary>
    internal const int Capacity = 1024;

    /// <summary>The most rows one joined run takes (the typed batcher's default batch size).</summary>
    internal const int MaxJoinedRows = 64;

    private readonly Channel<Job> channel = Channel.CreateBounded<Job>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });

    /// <summary>The symbolic name of the first dimension every input and output shares, or null when the model doesn't batch that way.</summary>
    private readonly string? batchDimension;

    private volatile ObjectDisposedException? closed;
    private long runs;

    internal TensorQueue(ModelSession session)
    {
        Session = session;
        var first = session.Inputs.Concat(session.Outputs).Select(t => t.Shape.Length > 0 && t.Shape[0] < 0 ? t.DimensionNames[0] : null).Distinct().ToArray();
        batchDimension = first is [{ } name] ? name : null;
    }

    internal ModelSession Session { get; }

    internal override int Weight => 1;

    /// <summary>Whether no request waits.</summary>
    internal bool IsEmpty => channel.Reader.Count == 0;

    /// <summary>Requests waiting now.</summary>
    internal int Length => channel.Reader.Count;

    /// <summary>How many runs the queue made (a joined run counts once): how tests see that requests were joined.</summary>
    internal long Runs => Interlocked.Read(ref runs);

    internal Task<RunOutputs> Enqueue(NamedTensor[] inputs, string[] outputNames, CancellationToken cancellationToken)
    {
        if (closed is { } reason) return Task.FromException<RunOutputs>(new ObjectDisposedException(reason.ObjectName, reason.Message));
        var job = new Job(inputs, outputNames, cancellationToken, RowsOf(inputs, outputNames));
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
        if (!channel.Reader.TryRead(out var first)) return;
        if (first.Rows == 0 || !channel.Reader.TryPeek(out _))
        {
            RunAlone(first);
            return;
        }

        // Take the requests waiting behind the first that join it, up to a full batch. Another worker may take the
        // peeked request first; one read that doesn't join runs alone after the joined ones.
        var joined = new List<Job> { first };
        var rows = first.Rows;
        Job? other = null;
        while (rows < MaxJoinedRows && channel.Reader.TryPeek(out var next) && next.Rows > 0 && rows + next.Rows <= MaxJoinedRows && Joins(first, next))
        {
            if (!channel.Reader.TryRead(out var taken)) break;
            if (taken.Rows > 0 && rows + taken.Rows <= MaxJoinedRows && Joins(first, taken))
            {
                joined.Add(taken);
                rows += taken.Rows;
            }
            else
            {
                other = taken;
                break;
            }
        }

        joined.RemoveAll(job =>
        {
            if (!job.CancellationToken.IsCancellationRequested) return false;
            job.Completion.TrySetCanceled(job.CancellationToken);
            return true;
        });
        if (joined.Count == 1) RunAlone(joined[0]);
        else if (joined.Count > 1) RunJoined(joined, joined.Sum(job => job.Rows));
        if (other is not null) RunAlone(other);
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

    private void RunAlone(Job job)
    {
        if (job.CancellationToken.IsCancellationRequested)
        {
            job.Completion.TrySetCanceled(job.CancellationToken);
            return;
        }

        try
        {
            Interlocked.Increment(ref runs);
            var outputs = Session.Run(job.Inputs, job.OutputNames, job.CancellationToken);
            if (!job.Completion.TrySetResult(outputs)) outputs.Dispose();
        }
        catch (Exception error)
        {
            // Nothing may escape onto the lane's thread.
            job.Completion.TrySetException(error);
        }
    }

    /// <summary>
    /// Runs the jobs as one batch: their inputs copied one after another along the first dimension, the outputs cut
    /// back into each job's rows. Anything unexpected (a run that fails, an output that isn't one row per input row)
    /// runs the jobs one by one instead, so each gets its own answer or its own error.
    /// </summary>
    private void RunJoined(List<Job> jobs, int rows)
    {
        var inputs = new NamedTensor[jobs[0].Inputs.Length];
        RunOutputs? outputs = null;
        // The jobs' tensors are read directly: a reference on each keeps one the caller disposed early from being freed under the copy.
        var held = new List<TensorValue>();
        try
        {
            foreach (var value in jobs.SelectMany(job => job.Inputs).Select(input => input.Value))
            {
                if (!value.Guard.TryAddRef()) throw new ObjectDisposedException(nameof(TensorValue));
                held.Add(value);
            }

            for (var i = 0; i < inputs.Length; i++)
            {
                var (name, model) = jobs[0].Inputs[i];
                var joined = TensorValue.Allocate(model.ElementType, [rows, .. model.Shape[1..]]);
                inputs[i] = new(name, joined);
                var offset = 0;
                foreach (var job in jobs)
                {
                    var part = job.Inputs.First(input => input.Name == name).Value.Bytes;
                    part.CopyTo(joined.Bytes[offset..]);
                    offset += part.Length;
                }
            }

            Interlocked.Increment(ref runs);
            outputs = RunUntilAllCanceled(inputs, jobs);
            if (outputs.Any(output => output.Value.Shape.Length == 0 || output.Value.Shape[0] != rows || output.Value.ElementType == TensorElementType.String))
            {
                throw new InvalidOperationException("An output does not hold one row per input row.");
            }

            var first = 0;
            foreach (var job in jobs)
            {
                var part = Slice(outputs, first, job.Rows);
                if (!job.Completion.TrySetResult(part)) part.Dispose();
                first += job.Rows;
            }
        }
        catch (Exception)
        {
            foreach (var job in jobs)
            {
                if (!job.Completion.Task.IsCompleted) RunAlone(job);
            }
        }
        finally
        {
            outputs?.Dispose();
            foreach (var input in inputs) input.Value?.Dispose();
            foreach (var value in held) value.Guard.DangerousRelease();
        }
    }

    /// <summary>
    /// Runs the joined inputs; the run is terminated (through its run options) once every job in it was canceled or passed
    /// its deadline, as a request running alone would be.
    /// </summary>
    private RunOutputs RunUntilAllCanceled(NamedTensor[] inputs, List<Job> jobs)
    {
        using var all = new CancellationTokenSource();
        var remaining = new StrongBox<int>(jobs.Count);
        var registrations = new CancellationTokenRegistration[jobs.Count];
        try
        {
            for (var i = 0; i < jobs.Count; i++)
            {
                registrations[i] = jobs[i].CancellationToken.UnsafeRegister(
                    static state =>
                    {
                        var (left, source) = ((StrongBox<int>, CancellationTokenSource))state!;
                        if (Interlocked.Decrement(ref left.Value) == 0) source.Cancel();
                    },
                    (remaining, all));
            }

            return Session.Run(inputs, jobs[0].OutputNames, all.Token);
        }
        finally
        {
            foreach (var registration in registrations) registration.Dispose();
        }
    }

    /// <summary>Rows [first, first + count) of every output, copied into tensors the caller owns.</summary>
    private static RunOutputs Slice(RunOutputs outputs, int first, int count)
    {
        var sliced = new NamedTensor[outputs.Count];
        for (var i = 0; i < sliced.Length; i++)
        {
            var (name, value) = outputs[i];
            var part = TensorValue.Allocate(value.ElementType, [count, .. value.Shape[1..]]);
            var rowBytes = value.Bytes.Length / (int)value.Shape[0];
            value.Bytes.Slice(first * rowBytes, count * rowBytes).CopyTo(part.Bytes);
            sliced[i] = new(name, part);
        }

        return new RunOutputs(sliced);
    }

    /// <summary>
    /// The rows a request holds when it can join others: every model input given once, all with the same first
    /// dimension, no strings. 0 when it can't (then it runs alone, and the session names any problem).
    /// </summary>
    private int RowsOf(NamedTensor[] inputs, string[] outputNames)
    {
        if (batchDimension is null || inputs.Length != Session.Inputs.Count || outputNames.Length == 0) return 0;
        var rows = -1L;
        foreach (var (name, value) in inputs)
        {
            if (value is null || value.ElementType == TensorElementType.String || value.Shape.Length == 0) return 0;
            if (!Session.Inputs.Any(input => input.Name == name)) return 0;
            if (rows >= 0 && value.Shape[0] != rows) return 0;
            rows = value.Shape[0];
        }

        return rows is > 0 and <= MaxJoinedRows ? (int)rows : 0;
    }

    /// <summary>Whether two joinable requests can share a run: the same outputs, and inputs that agree past the first dimension.</summary>
    private static bool Joins(Job first, Job other)
    {
        if (!first.OutputNames.AsSpan().SequenceEqual(other.OutputNames)) return false;
        foreach (var (name, value) in first.Inputs)
        {
            var match = Array.Find(other.Inputs, input => input.Name == name).Value;
            if (match is null || match.ElementType != value.ElementType || !match.Shape[1..].SequenceEqual(value.Shape[1..])) return false;
        }

        return true;
    }

    private sealed record Job(NamedTensor[] Inputs, string[] OutputNames, CancellationToken CancellationToken, int Rows)
    {
        internal TaskCompletionSource<RunOutputs> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
