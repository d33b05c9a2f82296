using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// Run options one lane worker reuses for every batch it runs, so it can stop the batch in flight from another
/// thread (<see cref="Terminate"/>) without the batcher seeing an ONNX Runtime type.
/// </summary>
internal sealed class RunControl : IDisposable
{
    private static RunOptions? shared;

    internal RunControl()
    {
        OrtEnvironment.EnsureCreated();
        Options = new RunOptions();
    }

    /// <summary>
    /// Run options for every run that can't be canceled: never terminated, so one instance serves all threads
    /// (ONNX Runtime only reads them during a run).
    /// </summary>
    internal static RunOptions Shared
    {
        get
        {
            if (Volatile.Read(ref shared) is { } options) return options;
            OrtEnvironment.EnsureCreated();
            var created = new RunOptions();
            return Interlocked.CompareExchange(ref shared, created, null) ?? created;
        }
    }

    /// <summary>The options the worker's runs are made with.</summary>
    internal RunOptions Options { get; }

    /// <summary>Whether <see cref="Terminate"/> was called since the last <see cref="Reset"/>.</summary>
    internal bool IsTerminated { get; private set; }

    /// <summary>Stops the run in flight under these options (ONNX Runtime checks the flag between kernels).</summary>
    internal void Terminate()
    {
        IsTerminated = true;
        OrtErrors.Run(() => Options.Terminate = true, "Terminating a batch");
    }

    /// <summary>Lets later runs under these options run again.</summary>
    internal void Reset()
    {
        if (IsTerminated)
        {
            OrtErrors.Run(() => Options.Terminate = false, "Resetting run options");
            IsTerminated = false;
        }
    }

    public void Dispose() => Options.Dispose();
}
