using System.Collections.Concurrent;

namespace InProcServe.Tests.TestSupport;

// Contracts written out by hand the way the generator writes them, so the batching tests depend on the
// runtime only. Each one is checked against its model's numpy reference by the tests that use it.

/// <summary>fraud.onnx: 30 features → probability.</summary>
internal readonly record struct FraudRow(float[] Features) : IModelInput<FraudRow>
{
    private static readonly TensorDeclaration[] Declarations = [new("features", TensorElementType.Float, [30], "Features")];

    static IReadOnlyList<TensorDeclaration> IModelInput<FraudRow>.InputTensors => Declarations;

    static void IModelInput<FraudRow>.WriteRow(in FraudRow value, int row, BatchTensors tensors)
    {
        ReadOnlySpan<float> values = value.Features;
        if (values.Length != 30) BatchTensors.ThrowLengthMismatch("FraudRow.Features", row, 30, values.Length);
        values.CopyTo(tensors.Row<float>(0, row));
    }
}

internal readonly record struct FraudScore(float Probability) : IModelOutput<FraudScore>
{
    private static readonly TensorDeclaration[] Declarations = [new("probability", TensorElementType.Float, [], "Probability")];

    static IReadOnlyList<TensorDeclaration> IModelOutput<FraudScore>.OutputTensors => Declarations;

    static FraudScore IModelOutput<FraudScore>.ReadRow(int row, BatchTensors tensors) => new(tensors.Row<float>(0, row)[0]);
}

/// <summary>multi_io.onnx: a, b → sum, dot, argmax.</summary>
internal readonly record struct Pair(float[] A, float[] B) : IModelInput<Pair>
{
    private static readonly TensorDeclaration[] Declarations =
        [new("a", TensorElementType.Float, [4], "A"), new("b", TensorElementType.Float, [4], "B")];

    static IReadOnlyList<TensorDeclaration> IModelInput<Pair>.InputTensors => Declarations;

    static void IModelInput<Pair>.WriteRow(in Pair value, int row, BatchTensors tensors)
    {
        value.A.CopyTo(tensors.Row<float>(0, row));
        value.B.CopyTo(tensors.Row<float>(1, row));
    }
}

internal sealed record PairResult(float[] Sum, float Dot, long Argmax) : IModelOutput<PairResult>
{
    private static readonly TensorDeclaration[] Declarations =
    [
        new("sum", TensorElementType.Float, [4], "Sum"),
        new("dot", TensorElementType.Float, [], "Dot"),
        new("argmax", TensorElementType.Int64, [], "Argmax"),
    ];

    static IReadOnlyList<TensorDeclaration> IModelOutput<PairResult>.OutputTensors => Declarations;

    static PairResult IModelOutput<PairResult>.ReadRow(int row, BatchTensors tensors) =>
        new(tensors.Row<float>(0, row).ToArray(), tensors.Row<float>(1, row)[0], tensors.Row<long>(2, row)[0]);
}

/// <summary>
/// slow_rows.onnx: a row of 512 copies of <see cref="Value"/> that keeps its batch running for
/// <see cref="Iterations"/> steps (about 30 µs each per row here). Writing the row records <see cref="Id"/> in
/// <see cref="Written"/>, so a test can tell which requests went into a batch.
/// </summary>
internal readonly record struct SlowRow(int Id, float Value, long Iterations, ConcurrentQueue<(int Id, int Row)>? Written = null) : IModelInput<SlowRow>
{
    private static readonly TensorDeclaration[] Declarations =
        [new("x", TensorElementType.Float, [512], "Value"), new("iterations", TensorElementType.Int64, [], "Iterations")];

    static IReadOnlyList<TensorDeclaration> IModelInput<SlowRow>.InputTensors => Declarations;

    static void IModelInput<SlowRow>.WriteRow(in SlowRow value, int row, BatchTensors tensors)
    {
        tensors.Row<float>(0, row).Fill(value.Value);
        tensors.Row<long>(1, row)[0] = value.Iterations;
        value.Written?.Enqueue((value.Id, row));
    }
}

/// <summary>slow_rows.onnx: the first element of the row's output (every element of a row is equal after one step).</summary>
internal readonly record struct SlowResult(float Y) : IModelOutput<SlowResult>
{
    private static readonly TensorDeclaration[] Declarations = [new("y", TensorElementType.Float, [512], "Y")];

    static IReadOnlyList<TensorDeclaration> IModelOutput<SlowResult>.OutputTensors => Declarations;

    static SlowResult IModelOutput<SlowResult>.ReadRow(int row, BatchTensors tensors) => new(tensors.Row<float>(0, row)[0]);
}
