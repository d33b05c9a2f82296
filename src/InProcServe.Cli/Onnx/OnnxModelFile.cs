using Google.Protobuf;

namespace InProcServe.Cli.Onnx;

/// <summary>Reads and writes ONNX model files as protobuf, for what ONNX Runtime's API doesn't tell: opsets, operators, initializers.</summary>
internal static class OnnxModelFile
{
    /// <summary>The ONNX <c>TensorProto.DataType</c> of float32.</summary>
    internal const int Float = 1;

    /// <summary>The ONNX <c>TensorProto.DataType</c> of int8.</summary>
    internal const int Int8 = 3;

    /// <summary>Parses a model file.</summary>
    /// <exception cref="CliException">The file is missing or not an ONNX model.</exception>
    internal static ModelProto Read(string path)
    {
        if (!File.Exists(path)) throw new CliException($"The model file '{Path.GetFullPath(path)}' does not exist.");
        try
        {
            // Models over 2 GB can't be one protobuf message; those keep their weights as external data, which is refused where it matters.
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            if (model.Graph is null) throw new CliException($"'{path}' is not an ONNX model: it parsed as protobuf but has no graph.");
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CliException($"'{path}' is not an ONNX model: {e.Message}");
        }
    }

    /// <summary>Whether an initializer keeps its data in another file rather than in the model.</summary>
    internal static bool IsExternal(TensorProto tensor) =>
        tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0;

    /// <summary>The bytes an initializer's data takes in the file.</summary>
    internal static long DataBytes(TensorProto tensor) =>
        tensor.RawData.Length + tensor.FloatData.Count * 4L + tensor.Int32Data.Count * 4L + tensor.Int64Data.Count * 8L +
        tensor.DoubleData.Count * 8L + tensor.Uint64Data.Count * 8L + tensor.StringData.Sum(s => (long)s.Length);

    /// <summary>The elements of a float32 initializer, from <c>raw_data</c> (little-endian) or <c>float_data</c>.</summary>
    internal static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != Float) throw new ArgumentException($"Initializer '{tensor.Name}' holds {DataTypeName(tensor.DataType)}, not float32.", nameof(tensor));
        var count = tensor.Dims.Aggregate(1L, (product, d) => product * d);
        var values = tensor.RawData.Length > 0
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray()
            : tensor.FloatData.ToArray();
        if (values.Length != count)
        {
            throw new CliException($"Initializer '{tensor.Name}' has dimensions [{string.Join(",", tensor.Dims)}] ({count} elements) but holds {values.Length}.");
        }

        return values;
    }

    /// <summary>The name ONNX gives a <c>TensorProto.DataType</c>, as the tool prints it.</summary>
    internal static string DataTypeName(int dataType) =>
        Enum.IsDefined((TensorElementType)dataType) ? TensorText.TypeName((TensorElementType)dataType) : $"data type {dataType}";
}
