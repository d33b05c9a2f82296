namespace InProcServe;

/// <summary>How much ONNX Runtime rewrites the graph when it loads a model (<c>GraphOptimizationLevel</c>).</summary>
public enum GraphOptimizationLevel
{
    /// <summary>No graph optimizations.</summary>
    None = 0,
    /// <summary>Semantics-preserving rewrites such as constant folding and redundant node removal.</summary>
    Basic = 1,
    /// <summary>Basic plus node fusions.</summary>
    Extended = 2,
    /// <summary>Every optimization, including memory-layout rewrites. ONNX Runtime's default and InProcServe's.</summary>
    All = 99,
}
