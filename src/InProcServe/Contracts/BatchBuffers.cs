namespace InProcServe;

/// <summary>
/// Everything one batch of a bound contract needs: a <see cref="TensorBuffer"/> per declared input and
/// output, and their binding to the session. Rented from a <see cref="BatchPool"/> by one caller at a time.
/// </summary>
internal sealed class BatchBuffers : IDisposable
{
    private readonly TensorBuffer[] inputs;
    private readonly TensorBuffer[] outputs;
    private readonly BatchBinding binding;

    internal BatchBuffers(ContractBinding contract, int capacity)
    {
        inputs = contract.Inputs.Select(i => new TensorBuffer(i.Declaration, i.RowDimensions, capacity)).ToArray();
        outputs = contract.Outputs.Select(o => new TensorBuffer(o.Declaration, o.RowDimensions, capacity)).ToArray();
        binding = new BatchBinding(
            contract.Session,
            contract.Inputs.Select((input, i) => (contract.Session.Inputs[input.ModelIndex].Name, inputs[i])).ToArray(),
            contract.Outputs.Select((output, i) => (contract.Session.Outputs[output.ModelIndex].Name, outputs[i])).ToArray(),
            capacity);
        Capacity = capacity;
    }

    internal int Capacity { get; }

    internal BatchTensors Inputs => new(inputs);

    internal BatchTensors Outputs => new(outputs);

    /// <summary>Runs the model over the first <paramref name="rows"/> rows; the outputs land in <see cref="Outputs"/>.</summary>
    internal void Run(int rows, CancellationToken cancellationToken) => binding.Run(rows, cancellationToken);

    /// <summary>As <see cref="Run(int, CancellationToken)"/> under a lane worker's run options.</summary>
    /// <returns>False when the run was terminated.</returns>
    internal bool Run(int rows, RunControl control) => binding.Run(rows, control);

    public void Dispose()
    {
        binding.Dispose();
        foreach (var buffer in inputs) buffer.Dispose();
        foreach (var buffer in outputs) buffer.Dispose();
    }
}
