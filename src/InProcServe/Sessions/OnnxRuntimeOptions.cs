namespace InProcServe;

/// <summary>
/// Process-wide ONNX Runtime settings for <see cref="OnnxRuntime.Initialize(OnnxRuntimeOptions)"/>. They take
/// effect only before the first model is loaded: ONNX Runtime creates its environment once per process.
/// </summary>
public sealed class OnnxRuntimeOptions
{
    /// <summary>
    /// The native library file, or a folder holding it. Default: null, which searches as described on
    /// <see cref="OnnxRuntime"/>. When given, it is the only place tried.
    /// </summary>
    public string? LibraryPath { get; set; }

    /// <summary>
    /// Whether all sessions share one process-wide pool of intra-op threads instead of each creating its own.
    /// Default: false. With many models loaded, per-session pools mean one thread per core per session, all
    /// competing for the same cores; a global pool keeps one set. Sessions then can't set
    /// <see cref="ModelSessionOptions.IntraOpThreads"/> or <see cref="ModelSessionOptions.InterOpThreads"/>.
    /// </summary>
    public bool UseGlobalThreadPools { get; set; }

    /// <summary>
    /// The size of the global intra-op pool, counting the calling thread. Default: 0, ONNX Runtime's choice
    /// (one per physical core). Only with <see cref="UseGlobalThreadPools"/>.
    /// </summary>
    public int GlobalIntraOpThreads { get; set; }

    /// <summary>Throws one exception that names every invalid value.</summary>
    internal void Validate()
    {
        var errors = new List<string>();
        if (LibraryPath is { Length: 0 }) errors.Add($"{nameof(LibraryPath)} is empty; leave it null to use the official packages' library.");
        if (GlobalIntraOpThreads < 0) errors.Add($"{nameof(GlobalIntraOpThreads)} is {GlobalIntraOpThreads}; it must be 0 (default) or more.");
        if (GlobalIntraOpThreads > 0 && !UseGlobalThreadPools) errors.Add($"{nameof(GlobalIntraOpThreads)} is {GlobalIntraOpThreads} but {nameof(UseGlobalThreadPools)} is false; set it true, or leave {nameof(GlobalIntraOpThreads)} 0.");
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid ONNX Runtime options:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", errors)}", "options");
        }
    }
}
