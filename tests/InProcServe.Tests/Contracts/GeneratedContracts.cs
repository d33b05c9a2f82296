using System.Runtime.CompilerServices;

namespace InProcServe.Tests.Contracts;

// The contracts the runtime tests bind to the committed models (models/README.md), written as users write them:
// the InProcServe generator, referenced as an analyzer, implements IModelInput/IModelOutput for each.

/// <summary>fraud.onnx as 30 named scalar columns of "features" (the layout of the Kaggle credit-card data set).</summary>
[ModelInput]
public partial record Transaction(
    [Tensor("features", Column = 0)] float Time,
    [Tensor("features", Column = 1)] float V1,
    [Tensor("features", Column = 2)] float V2,
    [Tensor("features", Column = 3)] float V3,
    [Tensor("features", Column = 4)] float V4,
    [Tensor("features", Column = 5)] float V5,
    [Tensor("features", Column = 6)] float V6,
    [Tensor("features", Column = 7)] float V7,
    [Tensor("features", Column = 8)] float V8,
    [Tensor("features", Column = 9)] float V9,
    [Tensor("features", Column = 10)] float V10,
    [Tensor("features", Column = 11)] float V11,
    [Tensor("features", Column = 12)] float V12,
    [Tensor("features", Column = 13)] float V13,
    [Tensor("features", Column = 14)] float V14,
    [Tensor("features", Column = 15)] float V15,
    [Tensor("features", Column = 16)] float V16,
    [Tensor("features", Column = 17)] float V17,
    [Tensor("features", Column = 18)] float V18,
    [Tensor("features", Column = 19)] float V19,
    [Tensor("features", Column = 20)] float V20,
    [Tensor("features", Column = 21)] float V21,
    [Tensor("features", Column = 22)] float V22,
    [Tensor("features", Column = 23)] float V23,
    [Tensor("features", Column = 24)] float V24,
    [Tensor("features", Column = 25)] float V25,
    [Tensor("features", Column = 26)] float V26,
    [Tensor("features", Column = 27)] float V27,
    [Tensor("features", Column = 28)] float V28,
    [Tensor("features", Column = 29)] float Amount)
{
    /// <summary>A transaction from one row of 30 features.</summary>
    public static Transaction From(ReadOnlySpan<float> f) => new(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13], f[14], f[15], f[16], f[17], f[18], f[19], f[20], f[21], f[22], f[23], f[24], f[25], f[26], f[27], f[28], f[29]);
}

/// <summary>fraud.onnx's output: "probability" float32 [N,1] as a scalar.</summary>
[ModelOutput]
public partial record FraudScore([Tensor("probability")] float Probability);

/// <summary>What every payment row has, declared on a base type: its time (column 0) and amount (column 29).</summary>
public abstract record PaymentRow
{
    [Tensor("features", Column = 0)] public float Time { get; init; }
    [Tensor("features", Column = 29)] public float Amount { get; init; }
}

/// <summary>A card payment: the first 14 anonymized components, between <see cref="PaymentRow"/> and the contract.</summary>
public abstract record CardPaymentRow : PaymentRow
{
    [Tensor("features", Column = 1)] public float V1 { get; init; }
    [Tensor("features", Column = 2)] public float V2 { get; init; }
    [Tensor("features", Column = 3)] public float V3 { get; init; }
    [Tensor("features", Column = 4)] public float V4 { get; init; }
    [Tensor("features", Column = 5)] public float V5 { get; init; }
    [Tensor("features", Column = 6)] public float V6 { get; init; }
    [Tensor("features", Column = 7)] public float V7 { get; init; }
    [Tensor("features", Column = 8)] public float V8 { get; init; }
    [Tensor("features", Column = 9)] public float V9 { get; init; }
    [Tensor("features", Column = 10)] public float V10 { get; init; }
    [Tensor("features", Column = 11)] public float V11 { get; init; }
    [Tensor("features", Column = 12)] public float V12 { get; init; }
    [Tensor("features", Column = 13)] public float V13 { get; init; }
    [Tensor("features", Column = 14)] public float V14 { get; init; }
}

/// <summary>fraud.onnx as 30 columns, 16 of them inherited from two base records.</summary>
[ModelInput]
public sealed partial record ScoredCardPayment : CardPaymentRow
{
    [Tensor("features", Column = 15)] public float V15 { get; init; }
    [Tensor("features", Column = 16)] public float V16 { get; init; }
    [Tensor("features", Column = 17)] public float V17 { get; init; }
    [Tensor("features", Column = 18)] public float V18 { get; init; }
    [Tensor("features", Column = 19)] public float V19 { get; init; }
    [Tensor("features", Column = 20)] public float V20 { get; init; }
    [Tensor("features", Column = 21)] public float V21 { get; init; }
    [Tensor("features", Column = 22)] public float V22 { get; init; }
    [Tensor("features", Column = 23)] public float V23 { get; init; }
    [Tensor("features", Column = 24)] public float V24 { get; init; }
    [Tensor("features", Column = 25)] public float V25 { get; init; }
    [Tensor("features", Column = 26)] public float V26 { get; init; }
    [Tensor("features", Column = 27)] public float V27 { get; init; }
    [Tensor("features", Column = 28)] public float V28 { get; init; }

    /// <summary>A payment from one row of 30 features.</summary>
    public static ScoredCardPayment From(ReadOnlySpan<float> f) => new()
    {
        Time = f[0], V1 = f[1], V2 = f[2], V3 = f[3], V4 = f[4], V5 = f[5],
        V6 = f[6], V7 = f[7], V8 = f[8], V9 = f[9], V10 = f[10], V11 = f[11],
        V12 = f[12], V13 = f[13], V14 = f[14], V15 = f[15], V16 = f[16], V17 = f[17],
        V18 = f[18], V19 = f[19], V20 = f[20], V21 = f[21], V22 = f[22], V23 = f[23],
        V24 = f[24], V25 = f[25], V26 = f[26], V27 = f[27], V28 = f[28], Amount = f[29],
    };
}

/// <summary>An output base type whose probability only the types derived from it may set.</summary>
public abstract record RiskScore
{
    [Tensor("probability")] public float Probability { get; protected init; }
}

/// <summary>fraud.onnx's output with its one member inherited.</summary>
[ModelOutput]
public sealed partial record CardRiskScore : RiskScore;

/// <summary>fraud.onnx's input as one float[30] member.</summary>
[ModelInput]
public readonly partial record struct FraudFeatures([Tensor("features", Length = 30)] float[] Features);

/// <summary>fraud.onnx's input as a ReadOnlyMemory, a class with an init property.</summary>
[ModelInput]
public sealed partial class FraudFeatureMemory
{
    [Tensor("features", Length = 30)] public ReadOnlyMemory<float> Features { get; init; }
}

/// <summary>Thirty floats held inline.</summary>
[InlineArray(30)]
public struct Thirty
{
    private float element;
}

/// <summary>fraud.onnx's input as an inline array field of a plain struct.</summary>
[ModelInput]
public partial struct FraudInline
{
    [Tensor("features")] public Thirty Features;
}

/// <summary>A contract whose declarations differ from fraud.onnx in length and element type.</summary>
[ModelInput]
public partial record WrongFraudFeatures([Tensor("features", Length = 29)] float[] Features);

/// <summary>The output side of <see cref="WrongFraudFeatures"/>.</summary>
[ModelOutput]
public partial record WrongFraudScore([Tensor("probability")] double Probability, [Tensor("label")] long Label);

/// <summary>Four floats held inline.</summary>
[InlineArray(4)]
public struct Four
{
    private float element;
}

/// <summary>Which of four slots argmax picked: an enum over int64.</summary>
public enum Slot : long
{
    First,
    Second,
    Third,
    Fourth,
}

/// <summary>multi_io.onnx's inputs: "a" as memory, "b" as an inline array.</summary>
[ModelInput]
public partial record Pair([Tensor("a", Length = 4)] ReadOnlyMemory<float> A, [Tensor("b")] Four B);

/// <summary>multi_io.onnx's outputs: a vector, a scalar from [N,1] and an enum from int64 [N].</summary>
[ModelOutput]
public sealed partial class PairResult
{
    [Tensor("sum", Length = 4)] public float[] Sum { get; init; } = [];

    [Tensor("dot")] public float Dot { get; private set; }

    [Tensor("argmax")] public Slot ArgMax { get; init; }
}

/// <summary>dynamic.onnx ("x" float32 [batch,seq]) with seq = 5.</summary>
[ModelInput]
public partial record Sequence([Tensor("x", Length = 5)] float[] X);

/// <summary>dynamic.onnx's outputs: "total" float32 [batch] as a scalar, "scaled" as a vector.</summary>
[ModelOutput]
public partial record SequenceResult([Tensor("total")] float Total, [Tensor("scaled", Length = 5)] float[] Scaled);

/// <summary>dynamic.onnx with seq = 1: a scalar member fills an [N,?] input as [N,1].</summary>
[ModelInput]
public partial record struct Single([Tensor("x")] float X);

/// <summary>The outputs of dynamic.onnx for <see cref="Single"/>.</summary>
[ModelOutput]
public partial record struct SingleResult([Tensor("total")] float Total, [Tensor("scaled", Length = 1)] float[] Scaled);

/// <summary>A byte-backed enum, for all_types' uint8 columns.</summary>
public enum Shade : byte;

/// <summary>An int-backed enum, for all_types' int32 vector.</summary>
public enum Level;

/// <summary>Three shorts held inline.</summary>
[InlineArray(3)]
public struct ThreeShorts
{
    private short element;
}

/// <summary>all_types.onnx's twelve inputs, one of each element type, in every member form.</summary>
[ModelInput]
public partial class AllTypesInput
{
    [Tensor("x_float", Length = 3)] public float[] Float { get; init; } = [];
    [Tensor("x_double", Column = 0)] public double Double0 { get; init; }
    [Tensor("x_double", Column = 1)] public double Double1 { get; init; }
    [Tensor("x_double", Column = 2)] public double Double2 { get; init; }
    [Tensor("x_float16", Length = 3)] public Half[] Float16 { get; init; } = [];
    [Tensor("x_int8", Length = 3)] public ReadOnlyMemory<sbyte> Int8 { get; init; }
    [Tensor("x_int16")] public ThreeShorts Int16;
    [Tensor("x_int32", Length = 3)] public Level[] Int32 { get; init; } = [];
    [Tensor("x_int64", Shape = [3])] public long[] Int64 { get; init; } = [];
    [Tensor("x_uint8", Column = 0)] public Shade UInt8a;
    [Tensor("x_uint8", Column = 1)] public Shade UInt8b;
    [Tensor("x_uint8", Column = 2)] public Shade UInt8c;
    [Tensor("x_uint16", Length = 3)] public ushort[] UInt16 { get; init; } = [];
    [Tensor("x_uint32", Length = 3)] public ReadOnlyMemory<uint> UInt32 { get; init; }
    [Tensor("x_uint64", Length = 3)] public ulong[] UInt64 { get; init; } = [];
    [Tensor("x_bool", Column = 0)] public bool Bool0 { get; init; }
    [Tensor("x_bool", Column = 1)] public bool Bool1 { get; init; }
    [Tensor("x_bool", Column = 2)] public bool Bool2 { get; init; }
}

/// <summary>all_types.onnx's twelve outputs, in every member form.</summary>
[ModelOutput]
public partial record AllTypesOutput(
    [Tensor("y_float", Length = 3)] float[] Float,
    [Tensor("y_double", Column = 0)] double Double0,
    [Tensor("y_double", Column = 1)] double Double1,
    [Tensor("y_double", Column = 2)] double Double2,
    [Tensor("y_float16", Length = 3)] ReadOnlyMemory<Half> Float16,
    [Tensor("y_int8", Length = 3)] sbyte[] Int8)
{
    [Tensor("y_int16")] public ThreeShorts Int16 { get; init; }
    [Tensor("y_int32", Length = 3)] public ReadOnlyMemory<Level> Int32 { get; init; }
    [Tensor("y_int64", Length = 3)] public long[] Int64 { get; init; } = [];
    [Tensor("y_uint8", Column = 0)] public Shade UInt8a { get; init; }
    [Tensor("y_uint8", Column = 1)] public Shade UInt8b { get; init; }
    [Tensor("y_uint8", Column = 2)] public Shade UInt8c { get; init; }
    [Tensor("y_uint16", Length = 3)] public ushort[] UInt16 { get; init; } = [];
    [Tensor("y_uint32", Length = 3)] public uint[] UInt32 { get; init; } = [];
    [Tensor("y_uint64", Shape = [3])] public ulong[] UInt64 { get; init; } = [];
    [Tensor("y_bool", Length = 3)] public bool[] Bool { get; init; } = [];
}

/// <summary>Three floats held inline: one per colour channel.</summary>
[InlineArray(3)]
public struct Rgb
{
    private float element;
}

/// <summary>images.onnx's input: a per-row uint8 tensor [3,4,4].</summary>
[ModelInput]
public partial record Image([Tensor("image", Shape = [3, 4, 4])] byte[] Pixels);

/// <summary>images.onnx's outputs: a per-row float tensor and a per-row mean per channel.</summary>
[ModelOutput]
public partial record struct ImageStatistics([Tensor("normalized", Shape = [3, 4, 4])] float[] Normalized, [Tensor("channel_mean")] Rgb ChannelMean);
