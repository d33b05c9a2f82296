using Microsoft.ML.OnnxRuntime;
using Ort = Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// A run of a <see cref="ModelSession"/> over tensors bound once (<see cref="ModelSession.Bind"/>): checked against
/// the signature when bound, then run any number of times with no checks, no lookups and no allocation. Refill the
/// input tensors' memory between runs; each run overwrites the output tensors.
/// </summary>
/// <remarks>
/// The untyped counterpart of a typed runner's bound batch memory, on ONNX Runtime's I/O binding: the fastest way to
/// run a model over tensors you keep. One caller at a time: concurrent runs of one bound run would write the same
/// outputs. The bound tensors are kept alive until the bound run is disposed, also if they are disposed first.
/// </remarks>
public sealed class BoundRun : IDisposable
{
    private readonly ModelSession session;
    private readonly OrtIoBinding binding;

    /// <summary>Owns the binding (and, after it, the references on the tensors) so a Dispose during a run waits for it.</summary>
    private readonly CallGuard guard;

    internal BoundRun(ModelSession session, OrtIoBinding binding, NamedTensor[] tensors)
    {
        this.session = session;
        this.binding = binding;
        guard = new CallGuard(binding, () =>
        {
            foreach (var tensor in tensors) tensor.Value.Guard.DangerousRelease();
        });
    }

    /// <summary>Runs the model over the bound tensors; the outputs land in the bound output tensors.</summary>
    /// <param name="cancellationToken">Cancels the run, also while ONNX Runtime is computing it.</param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed the run.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    /// <exception cref="ObjectDisposedException">This bound run or its session was disposed.</exception>
    public void Run(CancellationToken cancellationToken = default)
    {
        if (!guard.TryAddRef())
        {
            throw new ObjectDisposedException(nameof(BoundRun), $"Model '{session.Name}': the bound run was disposed.");
        }

        try
        {
            session.RunBound(binding, cancellationToken);
        }
        finally
        {
            guard.DangerousRelease();
        }
    }

    /// <summary>Releases the binding and the references it holds on the bound tensors, once a run in flight returned.</summary>
    public void Dispose() => guard.Dispose();

    /// <summary>Binds checked tensors, each already holding a reference this bound run takes over.</summary>
    internal static BoundRun Create(ModelSession session, OrtIoBinding binding, ReadOnlySpan<NamedTensor> inputs, ReadOnlySpan<NamedTensor> outputs)
    {
        try
        {
            foreach (var (name, value) in inputs) binding.BindInput(name, value.Value);
            foreach (var (name, value) in outputs) binding.BindOutput(name, value.Value);
            return new BoundRun(session, binding, [.. inputs, .. outputs]);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            binding.Dispose();
            throw OrtErrors.Translate(e, $"Model '{session.Name}': binding tensors");
        }
        catch
        {
            binding.Dispose();
            throw;
        }
    }
}
