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

    /// <summary>Throws one exception that names every invalid value.</summary>
    internal void Validate(string modelName)
    {
        var errors = new List<string>();
        if (IntraOpThreads < 0) errors.Add($"{nameof(IntraOpThreads)} is {IntraOpThreads}; it must be 0 (default) or more.");
        if (InterOpThreads < 0) errors.Add($"{nameof(InterOpThreads)} is {InterOpThreads}; it must be 0 (default) or more.");
        if (!Enum.IsDefined(GraphOptimization)) errors.Add($"{nameof(GraphOptimization)} is {(int)GraphOptimization}; it must be one of {string.Join(", ", Enum.GetNames<GraphOptimizationLevel>())}.");
        if (OptimizedModelPath is { Length: 0 }) errors.Add($"{nameof(OptimizedModelPath)} is empty; leave it null for no cache.");
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Model '{modelName}': invalid session options:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", errors)}", "options");
        }
    }
}
