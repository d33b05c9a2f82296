namespace InProcServe;

/// <summary>
/// What a contract binds to and its batches run on: a local <see cref="ModelSession"/>, or a model served elsewhere
/// over the Open Inference Protocol (Remote/). The contract check (<see cref="ContractBinding"/>), the runner and the
/// batcher see only this, so both kinds of model share them.
/// </summary>
internal interface IBatchTarget
{
    /// <summary>The model's name, in messages.</summary>
    string Name { get; }

    /// <summary>Where the model runs, after its name in messages: empty for a local session, " (remote: …)" for a remote model.</summary>
    string Origin { get; }

    /// <summary>The model's inputs: names, element types and shapes.</summary>
    IReadOnlyList<TensorInfo> Inputs { get; }

    /// <summary>The model's outputs: names, element types and shapes.</summary>
    IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>
    /// Null when a run computes on the calling thread (a local session: a lane worker runs it); otherwise a run waits on
    /// I/O, and a batcher keeps at most this many batches in flight without holding a lane worker for any of them.
    /// </summary>
    int? ConcurrentRuns { get; }

    /// <summary>Creates what runs batches over these buffers; used by one caller at a time, like the buffers.</summary>
    /// <param name="inputs">Every model input with its buffer.</param>
    /// <param name="outputs">The outputs to compute with their buffers.</param>
    /// <param name="capacity">The most rows a run takes.</param>
    IBatchExecutor CreateExecutor((string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs, int capacity);
}
