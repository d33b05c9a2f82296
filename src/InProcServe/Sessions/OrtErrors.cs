using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Ort = Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// The one place an ONNX Runtime failure becomes an InProcServe exception: the official API's
/// <see cref="Ort.OnnxRuntimeException"/> turns into <see cref="OnnxRuntimeException"/> with the error code of the
/// C API and the context of the call, so no ONNX Runtime type reaches callers.
/// </summary>
internal static class OrtErrors
{
    private const string CodePrefix = "[ErrorCode:";

    /// <summary>Runs <paramref name="call"/> and translates an ONNX Runtime failure.</summary>
    internal static T Run<T>(Func<T> call, string context)
    {
        try
        {
            return call();
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw Translate(e, context);
        }
    }

    /// <summary>Runs <paramref name="call"/> and translates an ONNX Runtime failure.</summary>
    internal static void Run(Action call, string context)
    {
        try
        {
            call();
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw Translate(e, context);
        }
    }

    /// <summary>
    /// The exception for a failure of the official API. Its message starts with the code's name
    /// (<c>[ErrorCode:InvalidArgument] …</c>), which is all it exposes of the code: its internal enum names the C
    /// API's values 0 to 10 alike, 11 and 12 differently and later ones by number, so the name is mapped back.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static OnnxRuntimeException Translate(Ort.OnnxRuntimeException e, string? context)
    {
        var message = e.Message;
        var code = OnnxRuntimeErrorCode.Fail;
        if (message.StartsWith(CodePrefix, StringComparison.Ordinal) && message.IndexOf(']', StringComparison.Ordinal) is var end and > 0)
        {
            var name = message[CodePrefix.Length..end];
            code = name switch
            {
                _ when int.TryParse(name, out var number) => (OnnxRuntimeErrorCode)number,
                "ShapeInferenceNotRegistered" => OnnxRuntimeErrorCode.ExecutionProviderFail,
                "RequirementNotRegistered" => OnnxRuntimeErrorCode.ModelLoadCanceled,
                _ => Enum.TryParse<OnnxRuntimeErrorCode>(name, out var named) ? named : OnnxRuntimeErrorCode.Fail,
            };

            message = message[(end + 1)..].TrimStart();
        }

        return new OnnxRuntimeException(code, context is null ? message : $"{context}: {message}");
    }

    /// <summary>Throws the translation of <paramref name="e"/>.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Throw(Ort.OnnxRuntimeException e, string? context) => throw Translate(e, context);
}
