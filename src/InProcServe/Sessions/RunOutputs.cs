using System.Collections;

namespace InProcServe;

/// <summary>
/// The outputs of a run, allocated by ONNX Runtime and owned by this object: dispose it to free them.
/// </summary>
public sealed class RunOutputs : IReadOnlyList<NamedTensor>, IDisposable
{
    private readonly NamedTensor[] outputs;

    internal RunOutputs(NamedTensor[] outputs) => this.outputs = outputs;

    /// <summary>The number of outputs.</summary>
    public int Count => outputs.Length;

    /// <summary>The output at <paramref name="index"/>, in the order they were requested (model order by default).</summary>
    /// <param name="index">The position.</param>
    public NamedTensor this[int index] => outputs[index];

    /// <summary>The output named <paramref name="name"/>.</summary>
    /// <param name="name">The model output name.</param>
    /// <exception cref="KeyNotFoundException">The run has no output of that name; the message lists the ones it has.</exception>
    public TensorValue this[string name]
    {
        get
        {
            foreach (var output in outputs)
            {
                if (output.Name == name)
                {
                    return output.Value;
                }
            }

            throw new KeyNotFoundException($"The run has no output '{name}'. It has: {string.Join(", ", outputs.Select(o => o.Name))}.");
        }
    }

    /// <summary>Frees every output tensor.</summary>
    public void Dispose()
    {
        foreach (var output in outputs)
        {
            output.Value.Dispose();
        }
    }

    /// <inheritdoc/>
    public IEnumerator<NamedTensor> GetEnumerator() => ((IEnumerable<NamedTensor>)outputs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
