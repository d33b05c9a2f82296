using Microsoft.AspNetCore.Http;

namespace InProcServe.AspNetCore;

/// <summary>A request the Open Inference Protocol endpoints answer with an error status and <c>{"error": message}</c>.</summary>
internal sealed class InferenceError(int statusCode, string message) : Exception(message)
{
    internal int StatusCode { get; } = statusCode;

    internal static InferenceError BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);
}
