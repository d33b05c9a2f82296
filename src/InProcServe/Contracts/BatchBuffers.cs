namespace InProcServe;

/// <summary>
/// Everything one batch of a bound contract needs: a <see cref="TensorBuffer"/> per declared input and
/// output, and what runs them on the contract's target (an ONNX Runtime binding, a remote call). Rented from a
/// <see cref="BatchPool"/> by one caller at a time.
/// </summary>
internal sealed class BatchBuffers : IDisposable
{
    private readonly TensorBuffer[] inputs;
    private readonly TensorBuffer[] outputs;
    private readonly IBatchExecutor executor;

    internal BatchBuffers(ContractBinding contract, int capacity)
    {
        inputs = contract.Inputs.Select(i => new TensorBuffer(i.Declaration, i.RowDimensions, capacity)).ToArray();
        outputs = contract.Outputs.Select(o => new TensorBuffer(o.Declaration, o.RowDimensions, capacity)).ToArray();
        var target = contract.Target;
        executor = target.CreateExecutor(
            contract.Inputs.Select((input, i) => (target.Inputs[input.ModelIndex].Name, inputs[i])).ToArray(),
            contract.Outputs.Select((output, i) => (target.Outputs[output.ModelIndex].Name, outputs[i])).ToArray(),
            capacity);
        Capacity = capacity;
    }

    internal int Capacity { get; }

    internal BatchTensors Inputs => new(inputs);

    internal BatchTensors Outputs => new(outputs);

    /// <summary>Runs the model over the first <paramref name="rows"/> rows; the outputs land in <see cref="Outputs"/>.</summary>
    internal void Run(int rows, CancellationToken cancellationToken) => executor.Run(rows, cancellationToken);

    /// <summary>As <see cref="Run(int, CancellationToken)"/> under a lane worker's run options.</summary>
    /// <returns>False when the run was terminated.</returns>
    internal bool Run(int rows, RunControl control) => executor.Run(rows, control);

    /// <summary>As <see cref="Run(int, CancellationToken)"/>, without holding the thread while a remote run is in flight.</summary>
    internal ValueTask RunAsync(int rows, CancellationToken cancellationToken) => executor.RunAsync(rows, cancellationToken);

    public void Dispose()
    {
        executor.Dispose();
        foreach (var buffer in inputs) buffer.Dispose();
        foreach (var buffer in outputs) buffer.Dispose();
    }
}
