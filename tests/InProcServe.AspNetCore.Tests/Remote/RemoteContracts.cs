using InProcServe.AspNetCore.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.Remote;

// Contracts the remote tests call, each hosted twice: remote (UseRemote) and local (FromFile), to compare the answers.

/// <summary>fraud.onnx: 30 features in, a probability out (<see cref="FraudFeatures"/>, <see cref="FraudScore"/>).</summary>
public sealed class Fraud : ModelDefinition<FraudFeatures, FraudScore>;

/// <summary>multi_io.onnx's inputs: two float vectors.</summary>
[ModelInput]
public readonly partial record struct Pair([Tensor("a", Length = 4)] float[] A, [Tensor("b", Length = 4)] float[] B);

/// <summary>multi_io.onnx's outputs: a vector, a [N,1] scalar and a rank-1 int64.</summary>
[ModelOutput]
public readonly partial record struct PairResult([Tensor("sum", Length = 4)] float[] Sum, [Tensor("dot")] float Dot, [Tensor("argmax")] long ArgMax);

public sealed class MultiIo : ModelDefinition<Pair, PairResult>;

/// <summary>images.onnx's input: a per-row uint8 tensor [3,4,4].</summary>
[ModelInput]
public readonly partial record struct Picture([Tensor("image", Shape = [3, 4, 4])] byte[] Pixels);

/// <summary>images.onnx's outputs: a per-row float tensor [3,4,4] and a mean per channel.</summary>
[ModelOutput]
public readonly partial record struct PictureStatistics([Tensor("normalized", Shape = [3, 4, 4])] float[] Normalized, [Tensor("channel_mean", Length = 3)] float[] ChannelMean);

public sealed class Images : ModelDefinition<Picture, PictureStatistics>;

/// <summary>all_types.onnx's twelve inputs, three elements of each type a row.</summary>
[ModelInput]
public sealed partial record Typed(
    [Tensor("x_float", Length = 3)] float[] Float,
    [Tensor("x_double", Length = 3)] double[] Double,
    [Tensor("x_float16", Length = 3)] Half[] Float16,
    [Tensor("x_int8", Length = 3)] sbyte[] Int8,
    [Tensor("x_int16", Length = 3)] short[] Int16,
    [Tensor("x_int32", Length = 3)] int[] Int32,
    [Tensor("x_int64", Length = 3)] long[] Int64,
    [Tensor("x_uint8", Length = 3)] byte[] UInt8,
    [Tensor("x_uint16", Length = 3)] ushort[] UInt16,
    [Tensor("x_uint32", Length = 3)] uint[] UInt32,
    [Tensor("x_uint64", Length = 3)] ulong[] UInt64,
    [Tensor("x_bool", Length = 3)] bool[] Bool);

/// <summary>all_types.onnx's twelve outputs: each input reversed.</summary>
[ModelOutput]
public sealed partial record TypedResult(
    [Tensor("y_float", Length = 3)] float[] Float,
    [Tensor("y_double", Length = 3)] double[] Double,
    [Tensor("y_float16", Length = 3)] Half[] Float16,
    [Tensor("y_int8", Length = 3)] sbyte[] Int8,
    [Tensor("y_int16", Length = 3)] short[] Int16,
    [Tensor("y_int32", Length = 3)] int[] Int32,
    [Tensor("y_int64", Length = 3)] long[] Int64,
    [Tensor("y_uint8", Length = 3)] byte[] UInt8,
    [Tensor("y_uint16", Length = 3)] ushort[] UInt16,
    [Tensor("y_uint32", Length = 3)] uint[] UInt32,
    [Tensor("y_uint64", Length = 3)] ulong[] UInt64,
    [Tensor("y_bool", Length = 3)] bool[] Bool);

public sealed class AllTypes : ModelDefinition<Typed, TypedResult>;

/// <summary>A contract written for another model: checked against fraud.onnx's metadata, it must fail with every difference.</summary>
[ModelInput]
public readonly partial record struct WrongFeatures([Tensor("features", Length = 20)] double[] Features, [Tensor("customer")] long Customer);

[ModelOutput]
public readonly partial record struct WrongScore([Tensor("probability")] float Probability, [Tensor("label")] long Label);

public sealed class Wrong : ModelDefinition<WrongFeatures, WrongScore>;
