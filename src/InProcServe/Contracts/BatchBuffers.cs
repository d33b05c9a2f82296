using InProcServe.Native;

namespace InProcServe;

/// <summary>
/// Everything one batch of a bound contract needs: a <see cref="TensorBuffer"/> per declared input and
/// output, and the native names and value pointers a Run passes. Rented from a <see cref="BatchPool"/>
/// by one caller at a time.
/// </summary>
internal sealed class BatchBuffers : IDisposable
{
    private readonly TensorBuffer[] inputs;
    private readonly TensorBuffer[] outputs;
    private readonly nint[] inputNames;
    private readonly nint[] outputNames;
    private readonly nint[] inputValues;
    private readonly nint[] outputValues;

    internal BatchBuffers(ContractBinding binding, int capacity)
    {
        // Names first: they throw for a disposed session before any native memory is taken.
        inputNames = binding.Inputs.Select(i => binding.Session.InputNamePointer(i.ModelIndex)).ToArray();
        outputNames = binding.Outputs.Select(o => binding.Session.OutputNamePointer(o.ModelIndex)).ToArray();
        inputs = binding.Inputs.Select(i => new TensorBuffer(i.Declaration, i.RowDimensions, capacity)).ToArray();
        outputs = binding.Outputs.Select(o => new TensorBuffer(o.Declaration, o.RowDimensions, capacity)).ToArray();
        inputValues = new nint[inputs.Length];
        outputValues = new nint[outputs.Length];
        Capacity = capacity;
    }

    internal int Capacity { get; }

    internal BatchTensors Inputs => new(inputs);

    internal BatchTensors Outputs => new(outputs);

    /// <summary>Runs the model over the first <paramref name="rows"/> rows; the outputs land in <see cref="Outputs"/>.</summary>
    internal void Run(ModelSession session, int rows, CancellationToken cancellationToken)
    {
        Prepare(rows);
        session.RunBound(inputNames, inputValues, outputNames, outputValues, cancellationToken);
    }

    /// <summary>As <see cref="Run(ModelSession, int, CancellationToken)"/> under a lane worker's run options.</summary>
    /// <returns>False when the run was terminated.</returns>
    internal bool Run(ModelSession session, int rows, OrtRunOptionsHandle runOptions, Func<bool> terminated)
    {
        Prepare(rows);
        return session.RunBound(inputNames, inputValues, outputNames, outputValues, runOptions, terminated);
    }

    private void Prepare(int rows)
    {
        for (var i = 0; i < inputs.Length; i++)
        {
            inputValues[i] = inputs[i].Value(rows);
        }

        for (var i = 0; i < outputs.Length; i++)
        {
            outputValues[i] = outputs[i].Value(rows);
        }
    }

    public void Dispose()
    {
        foreach (var buffer in inputs) buffer.Dispose();
        foreach (var buffer in outputs) buffer.Dispose();
    }
}
