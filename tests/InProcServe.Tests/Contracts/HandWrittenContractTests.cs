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
        var rows = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(30).Select(r => new FraudRow(r)).ToArray();
        var expected = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudRow, FraudScore>(session, maxBatchSize: 5);

        var bulk = new FraudScore[rows.Length];
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

        var error = Assert.Throws<InvalidOperationException>(() => ModelRunner.Create<FraudRow, FraudScore>(session));

        Assert.Equal(
            """
            Model 'multi_io' does not fit the contract FraudRow → FraudScore:
              - input 'features' (filled by Features): the model has no such input.
              - output 'probability' (filled by Probability): the model has no such output.
              - model input a: float32[batch,4] is filled by no member of the contract; every model input must be.
              - model input b: float32[batch,4] is filled by no member of the contract; every model input must be.
            The model's signature:
              inputs:  a: float32[batch,4], b: float32[batch,4]
              outputs: sum: float32[batch,4], dot: float32[batch,1], argmax: int64[batch]
            """.ReplaceLineEndings(),
            error.Message);
    }
}
