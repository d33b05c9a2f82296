namespace InProcServe;

/// <summary>The error codes ONNX Runtime reports (<c>OrtErrorCode</c> in its C API).</summary>
public enum OnnxRuntimeErrorCode
{
    /// <summary>No error.</summary>
    Ok = 0,
    /// <summary>A general failure.</summary>
    Fail = 1,
    /// <summary>An argument was invalid: for example an input of the wrong type or shape.</summary>
    InvalidArgument = 2,
    /// <summary>A file was not found.</summary>
    NoSuchFile = 3,
    /// <summary>No model was loaded.</summary>
    NoModel = 4,
    /// <summary>The execution engine failed.</summary>
    EngineError = 5,
    /// <summary>An exception was raised while running: for example a run terminated through its run options.</summary>
    RuntimeException = 6,
    /// <summary>The model file is not a valid ONNX protobuf.</summary>
    InvalidProtobuf = 7,
    /// <summary>The model was already loaded.</summary>
    ModelLoaded = 8,
    /// <summary>An operator or feature is not implemented by this build.</summary>
    NotImplemented = 9,
    /// <summary>The model graph is invalid.</summary>
    InvalidGraph = 10,
    /// <summary>An execution provider failed.</summary>
    ExecutionProviderFail = 11,
    /// <summary>Model loading was canceled.</summary>
    ModelLoadCanceled = 12,
    /// <summary>The model must be compiled before it can run.</summary>
    ModelRequiresCompilation = 13,
    /// <summary>Something looked up was not found.</summary>
    NotFound = 14,
}
