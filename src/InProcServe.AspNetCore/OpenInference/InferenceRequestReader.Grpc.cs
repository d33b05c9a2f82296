using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Google.Protobuf;
using Google.Protobuf.Collections;
using InProcServe.Protocol.Grpc;

namespace InProcServe.AspNetCore;

/// <summary>The gRPC form of an infer request, read with the REST reader's checks.</summary>
internal static partial class InferenceRequestReader
{
    /// <summary>
    /// Reads a gRPC infer request: each input's elements from <c>raw_input_contents</c> (one entry per input, in
    /// order, in the binary layout of <see cref="BinaryTensors"/>) or, when no input is raw, from its typed
    /// <c>contents</c>. The answer is always raw, so the request names no binary outputs.
    /// </summary>
    internal static Request Read(ModelInferRequest request, ModelSession model, long maxElements)
    {
        var raw = request.RawInputContents;
        if (raw.Count > 0 && raw.Count != request.Inputs.Count)
        {
            throw InferenceError.BadRequest($"raw_input_contents has {raw.Count} entries for {request.Inputs.Count} inputs; it takes one per input, in the order of inputs.");
        }

        var index = 0;
        return Build(model, request.Inputs, maxElements, (input, read, left) => ReadInput(input, raw.Count > 0 ? raw[index++] : null, model, read, left), inputs =>
        {
            var names = new List<string>();
            foreach (var output in request.Outputs)
            {
                if (output.Name.Length == 0) throw InferenceError.BadRequest("Each requested output needs a name.");
                AddOutput(names, output.Name, model);
            }

            var all = names.Count == 0 ? model.Outputs.Select(o => o.Name).ToArray() : [.. names];
            return new Request(request.Id.Length == 0 ? null : request.Id, inputs, all, NoOutputs, ReadTimeout(request.Parameters));
        });
    }

    /// <summary>Triton's <c>timeout</c> parameter (int64_param, or uint64_param), in microseconds; null when absent.</summary>
    private static TimeSpan? ReadTimeout(MapField<string, InferParameter> parameters)
    {
        if (!parameters.TryGetValue("timeout", out var timeout)) return null;
        return timeout.ParameterChoiceCase switch
        {
            InferParameter.ParameterChoiceOneofCase.Int64Param => Timeout(timeout.Int64Param, timeout.Int64Param.ToString(CultureInfo.InvariantCulture)),
            InferParameter.ParameterChoiceOneofCase.Uint64Param => Timeout(timeout.Uint64Param <= long.MaxValue ? (long)timeout.Uint64Param : null, timeout.Uint64Param.ToString(CultureInfo.InvariantCulture)),
            _ => Timeout(null, $"a {timeout.ParameterChoiceCase} (int64_param expected)"),
        };
    }

    private static NamedTensor ReadInput(ModelInferRequest.Types.InferInputTensor input, ByteString? raw, ModelSession model, List<NamedTensor> read, long elementsLeft)
    {
        if (input.Name.Length == 0) throw InferenceError.BadRequest("Each input needs a name, a datatype, a shape and its contents.");
        var info = Input(model, input.Name, input.Datatype.Length == 0 ? null : input.Datatype, read);
        var shape = new List<long>();
        foreach (var dimension in input.Shape) shape.Add(Dimension(info, shape.Count, dimension, dimension.ToString(CultureInfo.InvariantCulture), elementsLeft));
        var checkedShape = CheckShape(info, shape, elementsLeft);
        if (raw is null) return new NamedTensor(input.Name, Contents(info, checkedShape, input.Contents ?? new InferTensorContents()));
        if (input.Contents is { } contents && Filled(contents).Any())
        {
            throw InferenceError.BadRequest($"Input '{input.Name}': has contents, but the request has raw_input_contents; a request gives every input one way or the other.");
        }

        return new NamedTensor(input.Name, Decode(info, checkedShape, raw.Span));
    }

    /// <summary>The elements of an input from the typed field of its datatype, range-checked where the field is wider than the type.</summary>
    private static TensorValue Contents(TensorInfo info, long[] shape, InferTensorContents contents)
    {
        var count = shape.Aggregate(1L, (product, dimension) => product * dimension);
        return info.ElementType switch
        {
            TensorElementType.Float => TensorValue.Create(Field(info, count, contents, contents.Fp32Contents, "fp32_contents").ToArray(), shape),
            TensorElementType.Double => TensorValue.Create(Field(info, count, contents, contents.Fp64Contents, "fp64_contents").ToArray(), shape),
            TensorElementType.Int8 => TensorValue.Create(Narrow(info, Field(info, count, contents, contents.IntContents, "int_contents"), sbyte.MinValue, sbyte.MaxValue, v => (sbyte)v), shape),
            TensorElementType.Int16 => TensorValue.Create(Narrow(info, Field(info, count, contents, contents.IntContents, "int_contents"), short.MinValue, short.MaxValue, v => (short)v), shape),
            TensorElementType.Int32 => TensorValue.Create(Field(info, count, contents, contents.IntContents, "int_contents").ToArray(), shape),
            TensorElementType.Int64 => TensorValue.Create(Field(info, count, contents, contents.Int64Contents, "int64_contents").ToArray(), shape),
            TensorElementType.UInt8 => TensorValue.Create(Narrow(info, Field(info, count, contents, contents.UintContents, "uint_contents"), 0, byte.MaxValue, v => (byte)v), shape),
            TensorElementType.UInt16 => TensorValue.Create(Narrow(info, Field(info, count, contents, contents.UintContents, "uint_contents"), 0, ushort.MaxValue, v => (ushort)v), shape),
            TensorElementType.UInt32 => TensorValue.Create(Field(info, count, contents, contents.UintContents, "uint_contents").ToArray(), shape),
            TensorElementType.UInt64 => TensorValue.Create(Field(info, count, contents, contents.Uint64Contents, "uint64_contents").ToArray(), shape),
            TensorElementType.Bool => TensorValue.Create(Field(info, count, contents, contents.BoolContents, "bool_contents").ToArray(), shape),
            TensorElementType.String => TensorValue.CreateStrings(Texts(info, Field(info, count, contents, contents.BytesContents, "bytes_contents")), shape),
            _ => throw InferenceError.BadRequest($"Input '{info.Name}': {DataTypes.Name(info.ElementType) ?? TensorTypeName(info)} has no typed contents field; send its elements in raw_input_contents."),
        };
    }

    /// <summary>The field of the input's datatype, holding exactly the shape's element count.</summary>
    private static RepeatedField<T> Field<T>(TensorInfo info, long count, InferTensorContents contents, RepeatedField<T> field, string name)
    {
        if (field.Count == count) return field;
        var elsewhere = Filled(contents).Where(f => f.Field != name).Select(f => $"{f.Count} in {f.Field}").ToList();
        throw InferenceError.BadRequest($"Input '{info.Name}': {DataTypes.Name(info.ElementType)} takes its {count} elements in contents.{name}, which has {field.Count}{(elsewhere.Count > 0 ? $" ({string.Join(", ", elsewhere)})" : "")}.");
    }

    /// <summary>The typed fields that hold elements, with their counts.</summary>
    private static IEnumerable<(string Field, int Count)> Filled(InferTensorContents contents)
    {
        (string, int)[] fields =
        [
            ("bool_contents", contents.BoolContents.Count), ("int_contents", contents.IntContents.Count), ("int64_contents", contents.Int64Contents.Count),
            ("uint_contents", contents.UintContents.Count), ("uint64_contents", contents.Uint64Contents.Count), ("fp32_contents", contents.Fp32Contents.Count),
            ("fp64_contents", contents.Fp64Contents.Count), ("bytes_contents", contents.BytesContents.Count),
        ];
        return fields.Where(f => f.Item2 > 0);
    }

    private static T[] Narrow<TField, T>(TensorInfo info, RepeatedField<TField> field, long min, long max, Func<long, T> convert)
        where TField : IConvertible
    {
        var values = new T[field.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var value = field[i].ToInt64(CultureInfo.InvariantCulture);
            if (value < min || value > max) throw Element(info, i, value.ToString(CultureInfo.InvariantCulture), $"a whole number from {min} to {max}");
            values[i] = convert(value);
        }

        return values;
    }

    private static string[] Texts(TensorInfo info, RepeatedField<ByteString> field)
    {
        var values = new string[field.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var bytes = field[i].Span;
            if (!Utf8.IsValid(bytes)) throw Element(info, i, $"{bytes.Length} bytes that are not UTF-8", "UTF-8 text");
            values[i] = Encoding.UTF8.GetString(bytes);
        }

        return values;
    }
}
