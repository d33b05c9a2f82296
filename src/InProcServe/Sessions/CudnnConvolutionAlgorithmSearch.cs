namespace InProcServe;

/// <summary>How the CUDA provider picks a cuDNN algorithm for each convolution.</summary>
public enum CudnnConvolutionAlgorithmSearch
{
    /// <summary>Benchmarks every algorithm on the first run of each shape and keeps the fastest: slow first runs.</summary>
    Exhaustive = 0,
    /// <summary>Asks cuDNN's heuristics for a good algorithm without benchmarking.</summary>
    Heuristic = 1,
    /// <summary>Uses cuDNN's default algorithm: fastest start, possibly slower convolutions.</summary>
    Default = 2,
}
