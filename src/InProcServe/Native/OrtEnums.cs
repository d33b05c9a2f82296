namespace InProcServe.Native;

// C enums of onnxruntime_c_api.h that stay inside the binding. C enums are 32-bit ints.

/// <summary><c>OrtLoggingLevel</c>.</summary>
internal enum OrtLoggingLevel
{
    Verbose = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

/// <summary><c>ExecutionMode</c>.</summary>
internal enum OrtExecutionMode
{
    Sequential = 0,
    Parallel = 1,
}

/// <summary><c>OrtAllocatorType</c>.</summary>
internal enum OrtAllocatorType
{
    Device = 0,
    Arena = 1,
}

/// <summary><c>OrtMemType</c>.</summary>
internal enum OrtMemType
{
    CpuInput = -2,
    CpuOutput = -1,
    Default = 0,
}

/// <summary><c>ONNXType</c>: the kind of value behind a model input or output.</summary>
internal enum OnnxType
{
    Unknown = 0,
    Tensor = 1,
    Sequence = 2,
    Map = 3,
    Opaque = 4,
    SparseTensor = 5,
    Optional = 6,
}
