using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Contracts;

/// <summary>
/// The runtime half of typed contracts, driven by a hand-written implementation of the interfaces (what
/// the generator emits, written out): batching, pooling, validation.
/// </summary>
public sealed class HandWrittenContractTests
{
    [Fact]
    public void Direct_and_bulk_predictions_match_the_numpy_reference()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(30).Select(r => new Features(r)).ToArray();
        var expected = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = session.CreateRunner<Features, Score>(maxBatchSize: 5);

        var bulk = new Score[rows.Length];
        runner.Predict(rows, bulk);

        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal(expected[i], runner.Predict(rows[i]).Probability, 1e-5);
            Assert.Equal(expected[i], bulk[i].Probability, 1e-5);
        }
    }

    [Fact]
    public void A_contract_that_does_not_fit_lists_every_difference_and_the_signature()
    {
        using var session = ModelSession.Load(TestModels.Path("multi_io"));

        var error = Assert.Throws<InvalidOperationException>(() => session.CreateRunner<Features, Score>());

        Assert.Equal(
            """
            Model 'multi_io' does not fit the contract Features → Score:
              - input 'features' (filled by Values): the model has no such input.
              - output 'probability' (filled by Probability): the model has no such output.
              - model input a: float32[batch,4] is filled by no member of the contract; every model input must be.
              - model input b: float32[batch,4] is filled by no member of the contract; every model input must be.
            The model's signature:
              inputs:  a: float32[batch,4], b: float32[batch,4]
              outputs: sum: float32[batch,4], dot: float32[batch,1], argmax: int64[batch]
            """.ReplaceLineEndings(),
            error.Message);
    }

    private readonly record struct Features(float[] Values) : IModelInput<Features>
    {
        private static readonly TensorDeclaration[] Declarations = [new("features", TensorElementType.Float, [30], "Values")];

        static IReadOnlyList<TensorDeclaration> IModelInput<Features>.InputTensors => Declarations;

        static void IModelInput<Features>.WriteRow(in Features value, int row, BatchTensors tensors)
        {
            ReadOnlySpan<float> values = value.Values;
            if (values.Length != 30) BatchTensors.ThrowLengthMismatch("Features.Values", row, 30, values.Length);
            values.CopyTo(tensors.Row<float>(0, row));
        }
    }

    private readonly record struct Score(float Probability) : IModelOutput<Score>
    {
        private static readonly TensorDeclaration[] Declarations = [new("probability", TensorElementType.Float, [], "Probability")];

        static IReadOnlyList<TensorDeclaration> IModelOutput<Score>.OutputTensors => Declarations;

        static Score IModelOutput<Score>.ReadRow(int row, BatchTensors tensors) => new(tensors.Row<float>(0, row)[0]);
    }
}
