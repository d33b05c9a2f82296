namespace InProcServe;

/// <summary>
/// An <see cref="ExecutionLane"/> the host creates when the first model on it loads, and disposes with the host:
/// named options, set with <c>services.ConfigureLane(name, …)</c> or configuration (<c>InProcServe:Lanes:&lt;Name&gt;:Workers</c>,
/// <c>…:IdleSpin</c>).
/// </summary>
public sealed class LaneOptions
{
    /// <summary>The lane models run on unless they name another: "cpu".</summary>
    public const string DefaultLane = "cpu";

    /// <summary>Worker threads: the most batches the lane runs at the same time. Default: 0, one per two processors (at least one), leaving the other half to the callers. Use 1 for a GPU.</summary>
    public int Workers { get; set; }

    /// <summary>
    /// How long an idle worker spins for new requests before it sleeps (one worker at a time). Default: 50 µs, so
    /// that under steady load a request finds a worker awake instead of paying for a thread wake-up; each batch
    /// can then cost up to this much extra CPU when load is light. <see cref="TimeSpan.Zero"/> turns spinning off.
    /// </summary>
    public TimeSpan IdleSpin { get; set; } = ExecutionLane.DefaultIdleSpin;
}
