namespace InProcServe;

/// <summary>
/// An error reported by ONNX Runtime itself, with its error code and message. Mistakes InProcServe can
/// detect before calling ONNX Runtime (an unknown input name, a wrong element type or shape) are
/// reported as <see cref="ArgumentException"/> instead, with a message that names the model and tensor.
/// </summary>
public sealed class OnnxRuntimeException : Exception
{
    /// <summary>Creates an exception for an ONNX Runtime error.</summary>
    /// <param name="errorCode">The code ONNX Runtime returned.</param>
    /// <param name="message">The full message: what InProcServe was doing, then ONNX Runtime's own text.</param>
    public OnnxRuntimeException(OnnxRuntimeErrorCode errorCode, string message)
        : base(message)
    {
        ErrorCode = errorCode;
    }

    /// <summary>The error code ONNX Runtime returned.</summary>
    public OnnxRuntimeErrorCode ErrorCode { get; }
}
