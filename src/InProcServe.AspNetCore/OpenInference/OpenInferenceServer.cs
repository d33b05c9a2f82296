using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InProcServe.AspNetCore;

/// <summary>
/// What the protocol's endpoints share across requests: their options, the gate on large bodies, each model's default
/// deadline, and the one mapping from a failure to the status and message a client gets.
/// </summary>
internal sealed partial class OpenInferenceServer(IOptions<OpenInferenceOptions> options, IOptionsMonitor<ModelOptions> models, ILogger<OpenInferenceServer> logger)
{
    internal OpenInferenceOptions Options { get; } = options.Value;

    internal LargeBodyGate LargeBodies { get; } = new(options.Value.LargeRequestBytes, options.Value.MaxConcurrentLargeRequests);

    /// <summary>The protocol extensions served, listed in the server metadata of REST and gRPC.</summary>
    internal static readonly string[] Extensions = ["binary_tensor_data"];

    /// <summary>The platform named in model metadata.</summary>
    internal const string Platform = "onnxruntime_onnx";

    /// <summary>The server version in server metadata: the package's version, without its commit.</summary>
    internal static string Version { get; } =
        (typeof(OpenInferenceServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0").Split('+')[0];

    /// <summary>A tensor's datatype in model metadata: the protocol's name, or ONNX Runtime's for a type the protocol lacks.</summary>
    internal static string Datatype(TensorInfo tensor) => DataTypes.Name(tensor.ElementType) ?? tensor.TypeAndShape;

    /// <summary>The model's <see cref="BatchingOptions.DefaultTimeout"/>, the deadline of a call that sets none.</summary>
    internal TimeSpan? DefaultTimeout(string model) => models.Get(model).Batching?.DefaultTimeout;

    /// <summary>
    /// The status and message for a failed infer call. Anything not recognized as the client's doing or as a passing
    /// condition (full, not ready, too slow) is a fault of the server: logged here, once, with its details, and
    /// answered 500 with none of them.
    /// </summary>
    internal (int Status, string Message) Describe(Exception error, string model) => error switch
    {
        InferenceError e => (e.StatusCode, e.Message),
        BodyError e => (e.StatusCode, e.Message),
        JsonException e => (400, $"The body is not valid JSON: {e.Message}"),
        ArgumentException e => (400, Clean(e.Message)),
        OnnxRuntimeException { ErrorCode: OnnxRuntimeErrorCode.InvalidArgument } e => (400, $"Model '{model}' refused the inputs: {Clean(e.Message)}"),
        KeyNotFoundException e => (404, e.Message),
        NotSupportedException e => (501, e.Message),
        QueueFullException e => (429, $"Model '{model}': its queue is full ({e.Capacity} requests waiting, the limit); retry after {Options.RetryAfter.TotalSeconds:0.#} s."),
        TimeoutException or OperationCanceledException => (504, $"Model '{model}' did not answer within the request's deadline; the run was stopped."),
        ObjectDisposedException => (503, $"Model '{model}' is not serving now."),
        _ => Fault(error, model),
    };

    private (int, string) Fault(Exception error, string model)
    {
        LogFault(logger, model, error);
        return (500, $"Model '{model}' failed on the server; the server log has the details.");
    }

    /// <summary>
    /// ONNX Runtime's messages can carry the paths of its source files (<c>/onnxruntime_src/…/ops.h:560</c>) and of
    /// model files; a client gets neither.
    /// </summary>
    private static string Clean(string message) => Paths().Replace(message, "…");

    [GeneratedRegex(@"(?<![\w.])(?:[A-Za-z]:)?(?:[\\/][\w.\-+]+){2,}(?::\d+)?")]
    private static partial Regex Paths();

    [LoggerMessage(EventId = 30, Level = LogLevel.Error, Message = "Open Inference Protocol: infer on model '{Model}' failed on the server; answered 500")]
    private static partial void LogFault(ILogger logger, string model, Exception error);
}
