
namespace InProcServe;

/// <summary>How a <see cref="ModelSession"/> is created. Every property has a default; an instance can be shared.</summary>
public sealed class ModelSessionOptions
{
    /// <summary>
    /// The model's name in messages and diagnostics. Default: null, which uses the file name without
    /// extension, or "model" for a model loaded from bytes.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>
    /// Threads one run may use inside an operator. Default: 0, ONNX Runtime's choice (one per physical core).
    /// Set 1 when many requests run concurrently and each is small: parallelism then comes from the callers.
    /// </summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Threads that run independent graph nodes at the same time. Default: 0, which runs nodes one after
    /// another; a value above 1 switches ONNX Runtime to parallel execution with that many threads.
    /// </summary>
    public int InterOpThreads { get; set; }

    /// <summary>Graph optimizations applied at load. Default: <see cref="GraphOptimizationLevel.All"/>.</summary>
    public GraphOptimizationLevel GraphOptimization { get; set; } = GraphOptimizationLevel.All;

    /// <summary>
    /// Whether the session keeps its own CPU memory arena. Default: false. ONNX Runtime turns it on by default,
    /// but a serving process holds many sessions whose arenas each grow to their peak, and a session shared by
    /// concurrent callers showed about three times the p99 latency with its arena on.
    /// </summary>
    public bool EnableCpuMemoryArena { get; set; }

    /// <summary>
    /// A file that caches the optimized graph. Default: null (no cache). When the file exists and is newer than
    /// the model file, the session loads it and skips optimization; otherwise the session optimizes the model
    /// and writes the result there. Delete the file after changing <see cref="GraphOptimization"/>. Optimized
    /// graphs can be specific to the machine that wrote them.
    /// </summary>
    public string? OptimizedModelPath { get; set; }

    /// <summary>
    /// Where the graph runs. Default: <see cref="InProcServe.ExecutionProvider.Cpu"/>. A GPU provider needs a GPU
    /// build of ONNX Runtime; loading fails with a message saying so when the loaded library lacks it. In a hosted
    /// model's configuration: <c>Session:ExecutionProvider</c> = "Cpu", "Cuda" or "TensorRT", or
    /// <c>Session:ExecutionProvider:Name</c> with the provider's settings (<c>DeviceId</c>, <c>GpuMemoryLimit</c>, <c>Fp16</c>, …) beside it.
    /// </summary>
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>
    /// Whether this session shares its weights with the other sessions of the same model that set this. Default:
    /// false. Set it on every session of a model loaded more than once (several lanes or instances, the same
    /// file under two names): each session otherwise holds its own copy of the weights in the layout ONNX
    /// Runtime's CPU kernels compute with (pre-packed), and a shared second session adds little memory.
    /// Sessions share when they load the same unchanged file (same full path, length and last write time) or
    /// the same bytes; the weights are freed with the last of them. The cost: the first session also keeps the
    /// original weights, which ONNX Runtime frees after pre-packing when nothing is shared, so a model loaded
    /// only once uses more memory with this on. Initializers in external data files are not shared.
    /// </summary>
    public bool ShareWeights { get; set; }

    /// <summary>
    /// Whether the session allocates CPU memory from one arena shared by every session that sets this, instead
    /// of its own. Default: false. One arena grows to the peak of the largest run in flight instead of one
    /// arena per session each growing to its own peak; it is never shrunk. Can't be combined with
    /// <see cref="EnableCpuMemoryArena"/>.
    /// </summary>
    public bool UseSharedCpuArena { get; set; }

    /// <summary>Throws one exception that names every invalid value.</summary>
    internal void Validate(string modelName)
    {
        var errors = new List<string>();
        AddErrors(errors);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Model '{modelName}': invalid session options:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", errors)}", "options");
        }
    }

    /// <summary>A copy, so options configured once can be handed to several sessions and changed for one.</summary>
    internal ModelSessionOptions Clone() => (ModelSessionOptions)MemberwiseClone();

    /// <summary>Adds a line to <paramref name="errors"/> for every invalid value.</summary>
    internal void AddErrors(List<string> errors)
    {
        if (IntraOpThreads < 0) errors.Add($"{nameof(IntraOpThreads)} is {IntraOpThreads}; it must be 0 (default) or more.");
        if (InterOpThreads < 0) errors.Add($"{nameof(InterOpThreads)} is {InterOpThreads}; it must be 0 (default) or more.");
        if (OrtEnvironment.GlobalIntraOpThreads is not null && (IntraOpThreads > 0 || InterOpThreads > 0))
        {
            errors.Add($"{nameof(IntraOpThreads)} is {IntraOpThreads} and {nameof(InterOpThreads)} is {InterOpThreads}, but sessions run on ONNX Runtime's global " +
                       $"thread pools (OnnxRuntimeOptions.UseGlobalThreadPools); leave both 0 and size the pool with OnnxRuntimeOptions.GlobalIntraOpThreads.");
        }

        if (EnableCpuMemoryArena && UseSharedCpuArena) errors.Add($"{nameof(EnableCpuMemoryArena)} and {nameof(UseSharedCpuArena)} are both true; a session allocates from its own arena or from the shared one: set one.");
        if (ExecutionProvider is null) errors.Add($"{nameof(ExecutionProvider)} is null; use ExecutionProvider.Cpu (default), ExecutionProvider.Cuda(…) or ExecutionProvider.TensorRT(…).");
        else ExecutionProvider.Validate(errors);
        if (!Enum.IsDefined(GraphOptimization)) errors.Add($"{nameof(GraphOptimization)} is {(int)GraphOptimization}; it must be one of {string.Join(", ", Enum.GetNames<GraphOptimizationLevel>())}.");
        if (OptimizedModelPath is { Length: 0 }) errors.Add($"{nameof(OptimizedModelPath)} is empty; leave it null for no cache.");
    }
}
