using System.Collections.Frozen;
using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>Reads a session's signature and metadata from the official API into InProcServe's types, once at load.</summary>
internal static class SessionReader
{
    /// <summary>The inputs or outputs, in model order.</summary>
    internal static IReadOnlyList<TensorInfo> ReadSignature(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        names.Select(name => ReadTensorInfo(name, metadata[name])).ToArray();

    private static TensorInfo ReadTensorInfo(string name, NodeMetadata node)
    {
        if (!node.IsTensor)
        {
            // Sequences, maps and optionals: listed, never bindable.
            return new TensorInfo(name, TensorElementType.Undefined, [], []);
        }

        var dimensions = node.Dimensions.Select(d => (long)d).ToArray();
        var symbols = node.SymbolicDimensions.Select(symbol => string.IsNullOrEmpty(symbol) ? null : symbol).ToArray();
        return new TensorInfo(name, (TensorElementType)node.ElementDataType, [.. dimensions], [.. symbols]);
    }

    internal static ModelMetadata ReadMetadata(Microsoft.ML.OnnxRuntime.ModelMetadata metadata) =>
        new(
            metadata.ProducerName ?? "",
            metadata.GraphName ?? "",
            metadata.Domain ?? "",
            metadata.Description ?? "",
            // ONNX Runtime reports a model_version the file doesn't set as long.MaxValue: that is "unset", 0 here.
            metadata.Version == long.MaxValue ? 0 : metadata.Version,
            (metadata.CustomMetadataMap ?? []).ToFrozenDictionary(StringComparer.Ordinal));
}
