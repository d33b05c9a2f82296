using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Contracts;

/// <summary>
/// Contracts implemented by the source generator (GeneratedContracts.cs), bound to the committed models and
/// checked against the numpy references; and the startup and per-row errors users see.
/// </summary>
public sealed class GeneratedContractTests
{
    [Fact]
    public void Fraud_with_30_scalar_columns_matches_the_numpy_reference()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<Transaction, FraudScore>(session, maxBatchSize: 5);

        foreach (var reference in TestModels.Reference("fraud").Cases)
        {
            var inputs = Floats(reference.Inputs[0]).Chunk(30).Select(row => Transaction.From(row)).ToArray();
            var expected = Floats(reference.Outputs[0]);
            var bulk = new FraudScore[inputs.Length];

            runner.Predict(inputs, bulk);

            for (var i = 0; i < inputs.Length; i++)
            {
                Assert.Equal(expected[i], runner.Predict(inputs[i]).Probability, 1e-5);
                Assert.Equal(expected[i], bulk[i].Probability, 1e-5);
            }
        }
    }

    [Fact]
    public void Fraud_with_columns_and_an_output_inherited_from_base_records_matches_the_numpy_reference()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<ScoredCardPayment, CardRiskScore>(session, maxBatchSize: 5);
        var reference = TestModels.Reference("fraud");

        foreach (var referenceCase in reference.Cases)
        {
            var inputs = Floats(referenceCase.Inputs[0]).Chunk(30).Select(row => ScoredCardPayment.From(row)).ToArray();
            var expected = Floats(referenceCase.Outputs[0]);
            var bulk = new CardRiskScore[inputs.Length];

            runner.Predict(inputs, bulk);

            for (var i = 0; i < inputs.Length; i++)
            {
                Assert.Equal(expected[i], runner.Predict(inputs[i]).Probability, reference.Tolerance);
                Assert.Equal(expected[i], bulk[i].Probability, reference.Tolerance);
            }
        }
    }

    [Fact]
    public void Fraud_with_a_float_array_a_memory_and_an_inline_array_matches_the_numpy_reference()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = Floats(reference.Inputs[0]).Chunk(30).ToArray();
        var expected = Floats(reference.Outputs[0]);
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var arrays = ModelRunner.Create<FraudFeatures, FraudScore>(session);
        using var memories = ModelRunner.Create<FraudFeatureMemory, FraudScore>(session);
        using var inline = ModelRunner.Create<FraudInline, FraudScore>(session);

        for (var i = 0; i < rows.Length; i++)
        {
            var inlineRow = new FraudInline();
            rows[i].CopyTo(inlineRow.Features);
            Assert.Equal(expected[i], arrays.Predict(new FraudFeatures(rows[i])).Probability, 1e-5);
            Assert.Equal(expected[i], memories.Predict(new FraudFeatureMemory { Features = rows[i] }).Probability, 1e-5);
            Assert.Equal(expected[i], inline.Predict(inlineRow).Probability, 1e-5);
        }
    }

    [Fact]
    public void Multi_input_multi_output_matches_the_numpy_reference()
    {
        var reference = TestModels.Reference("multi_io");
        var a = Floats(reference.Cases[0].Inputs[0]).Chunk(4).ToArray();
        var b = Floats(reference.Cases[0].Inputs[1]).Chunk(4).ToArray();
        var inputs = a.Select((row, i) =>
        {
            var four = new Four();
            b[i].CopyTo(four);
            return new Pair(row, four);
        }).ToArray();
        using var session = ModelSession.Load(TestModels.Path("multi_io"));
        using var runner = ModelRunner.Create<Pair, PairResult>(session, maxBatchSize: 2);
        var results = new PairResult[inputs.Length];

        runner.Predict(inputs, results);

        var sum = Floats(reference.Cases[0].Outputs[0]).Chunk(4).ToArray();
        var dot = Floats(reference.Cases[0].Outputs[1]);
        var argmax = reference.Cases[0].Outputs[2].Data.Select(d => (Slot)d.GetInt64()).ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            AssertClose(sum[i], results[i].Sum, reference.Tolerance);
            Assert.Equal(dot[i], results[i].Dot, reference.Tolerance);
            Assert.Equal(argmax[i], results[i].ArgMax);
        }
    }

    [Fact]
    public void Every_element_type_round_trips_exactly_as_the_numpy_reference_says()
    {
        var reference = TestModels.Reference("all_types").Cases[0];
        var x = reference.Inputs.ToDictionary(t => t.Name, t => t.Data.Chunk(3).ToArray());
        var y = reference.Outputs.ToDictionary(t => t.Name, t => t.Data.Chunk(3).ToArray());
        var rows = x["x_float"].Length;
        var inputs = new AllTypesInput[rows];
        for (var i = 0; i < rows; i++)
        {
            var shorts = new ThreeShorts();
            x["x_int16"][i].Select(d => d.GetInt16()).ToArray().CopyTo(shorts);
            inputs[i] = new AllTypesInput
            {
                Float = x["x_float"][i].Select(d => (float)d.GetDouble()).ToArray(),
                Double0 = x["x_double"][i][0].GetDouble(),
                Double1 = x["x_double"][i][1].GetDouble(),
                Double2 = x["x_double"][i][2].GetDouble(),
                Float16 = x["x_float16"][i].Select(d => (Half)d.GetDouble()).ToArray(),
                Int8 = x["x_int8"][i].Select(d => d.GetSByte()).ToArray(),
                Int16 = shorts,
                Int32 = x["x_int32"][i].Select(d => (Level)d.GetInt32()).ToArray(),
                Int64 = x["x_int64"][i].Select(d => d.GetInt64()).ToArray(),
                UInt8a = (Shade)x["x_uint8"][i][0].GetByte(),
                UInt8b = (Shade)x["x_uint8"][i][1].GetByte(),
                UInt8c = (Shade)x["x_uint8"][i][2].GetByte(),
                UInt16 = x["x_uint16"][i].Select(d => d.GetUInt16()).ToArray(),
                UInt32 = x["x_uint32"][i].Select(d => d.GetUInt32()).ToArray(),
                UInt64 = x["x_uint64"][i].Select(d => d.GetUInt64()).ToArray(),
                Bool0 = x["x_bool"][i][0].GetBoolean(),
                Bool1 = x["x_bool"][i][1].GetBoolean(),
                Bool2 = x["x_bool"][i][2].GetBoolean(),
            };
        }

        using var session = ModelSession.Load(TestModels.Path("all_types"));
        using var runner = ModelRunner.Create<AllTypesInput, AllTypesOutput>(session);
        var outputs = new AllTypesOutput[rows];
        runner.Predict(inputs, outputs);

        for (var i = 0; i < rows; i++)
        {
            var o = outputs[i];
            var int16 = o.Int16;
            Assert.Equal(y["y_float"][i].Select(d => (float)d.GetDouble()), o.Float);
            Assert.Equal(y["y_double"][i].Select(d => d.GetDouble()), [o.Double0, o.Double1, o.Double2]);
            Assert.Equal(y["y_float16"][i].Select(d => (Half)d.GetDouble()), o.Float16.ToArray());
            Assert.Equal(y["y_int8"][i].Select(d => d.GetSByte()), o.Int8);
            Assert.Equal(y["y_int16"][i].Select(d => d.GetInt16()), ((ReadOnlySpan<short>)int16).ToArray());
            Assert.Equal(y["y_int32"][i].Select(d => (Level)d.GetInt32()), o.Int32.ToArray());
            Assert.Equal(y["y_int64"][i].Select(d => d.GetInt64()), o.Int64);
            Assert.Equal(y["y_uint8"][i].Select(d => (Shade)d.GetByte()), [o.UInt8a, o.UInt8b, o.UInt8c]);
            Assert.Equal(y["y_uint16"][i].Select(d => d.GetUInt16()), o.UInt16);
            Assert.Equal(y["y_uint32"][i].Select(d => d.GetUInt32()), o.UInt32);
            Assert.Equal(y["y_uint64"][i].Select(d => d.GetUInt64()), o.UInt64);
            Assert.Equal(y["y_bool"][i].Select(d => d.GetBoolean()), o.Bool);
        }
    }

    [Fact]
    public void Per_row_tensors_match_the_numpy_reference()
    {
        var reference = TestModels.Reference("images");
        var images = reference.Cases[0].Inputs[0].Data.Select(d => d.GetByte()).Chunk(48).Select(p => new Image(p)).ToArray();
        var normalized = Floats(reference.Cases[0].Outputs[0]).Chunk(48).ToArray();
        var means = Floats(reference.Cases[0].Outputs[1]).Chunk(3).ToArray();
        using var session = ModelSession.Load(TestModels.Path("images"));
        using var runner = ModelRunner.Create<Image, ImageStatistics>(session);

        for (var i = 0; i < images.Length; i++)
        {
            var statistics = runner.Predict(images[i]);
            var channelMean = statistics.ChannelMean;
            AssertClose(normalized[i], statistics.Normalized, reference.Tolerance);
            AssertClose(means[i], ((ReadOnlySpan<float>)channelMean).ToArray(), reference.Tolerance);
        }
    }

    [Fact]
    public void A_scalar_output_reads_a_rank_one_output_and_a_vector_fills_a_dynamic_dimension()
    {
        var reference = TestModels.Reference("dynamic");
        var first = reference.Cases.Single(c => c.Inputs[0].Shape[1] == 5);
        var inputs = Floats(first.Inputs[0]).Chunk(5).Select(x => new Sequence(x)).ToArray();
        var total = Floats(first.Outputs[0]);
        var scaled = Floats(first.Outputs[1]).Chunk(5).ToArray();
        using var session = ModelSession.Load(TestModels.Path("dynamic"));
        using var runner = ModelRunner.Create<Sequence, SequenceResult>(session);

        for (var i = 0; i < inputs.Length; i++)
        {
            var result = runner.Predict(inputs[i]);
            Assert.Equal(total[i], result.Total, reference.Tolerance);
            AssertClose(scaled[i], result.Scaled, reference.Tolerance);
        }
    }

    [Fact]
    public void A_scalar_input_fills_a_batch_by_one_column()
    {
        // dynamic.onnx: total = row sum of x, scaled = 2x (models/README.md), so for one column total = x.
        using var session = ModelSession.Load(TestModels.Path("dynamic"));
        using var runner = ModelRunner.Create<Single, SingleResult>(session);
        Single[] inputs = [new(1.5f), new(-3f), new(0.25f)];
        var results = new SingleResult[inputs.Length];

        runner.Predict(inputs, results);

        Assert.Equal([1.5f, -3f, 0.25f], results.Select(r => r.Total));
        Assert.Equal([3f, -6f, 0.5f], results.Select(r => r.Scaled.Single()));
    }

    [Fact]
    public void A_contract_that_does_not_fit_fails_at_load_with_every_difference_and_the_signature()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));

        var error = Assert.Throws<InvalidOperationException>(() => ModelRunner.Create<WrongFraudFeatures, WrongFraudScore>(session));

        Assert.Equal(
            """
            Model 'fraud' does not fit the contract WrongFraudFeatures → WrongFraudScore:
              - input 'features': the contract has float32[N,29] (Features), the model float32[batch,30]: dimension 1 differs (29 against 30).
              - output 'probability': the contract has float64[N] (Probability), the model float32[batch,1]: the element type differs.
              - output 'label' (filled by Label): the model has no such output.
            The model's signature:
              inputs:  features: float32[batch,30]
              outputs: probability: float32[batch,1]
            """.ReplaceLineEndings(),
            error.Message);
    }

    [Fact]
    public void A_contract_for_another_model_names_the_missing_inputs_and_outputs()
    {
        using var session = ModelSession.Load(TestModels.Path("images"));

        var error = Assert.Throws<InvalidOperationException>(() => ModelRunner.Create<Transaction, FraudScore>(session));

        Assert.Equal(
            """
            Model 'images' does not fit the contract Transaction → FraudScore:
              - input 'features' (filled by Time, V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15, V16, V17, V18, V19, V20, V21, V22, V23, V24, V25, V26, V27, V28, Amount): the model has no such input.
              - output 'probability' (filled by Probability): the model has no such output.
              - model input image: uint8[batch,3,4,4] is filled by no member of the contract; every model input must be.
            The model's signature:
              inputs:  image: uint8[batch,3,4,4]
              outputs: normalized: float32[batch,3,4,4], channel_mean: float32[batch,3]
            """.ReplaceLineEndings(),
            error.Message);
    }

    [Fact]
    public void A_vector_of_the_wrong_length_is_an_error_naming_the_member_the_row_and_the_lengths()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session);
        var inputs = Enumerable.Range(0, 5).Select(i => new FraudFeatures(new float[i == 3 ? 29 : 30])).ToArray();

        var direct = Assert.Throws<ArgumentException>(() => runner.Predict(new FraudFeatures(new float[31])));
        var bulk = Assert.Throws<ArgumentException>(() => runner.Predict(inputs, new FraudScore[inputs.Length]));

        Assert.Equal("FraudFeatures.Features in row 0 has 31 elements; the model contract declares 30.", direct.Message);
        Assert.Equal("FraudFeatures.Features in row 3 has 29 elements; the model contract declares 30.", bulk.Message);
    }

    private static float[] Floats(ReferenceTensor tensor) => tensor.Data.Select(d => (float)d.GetDouble()).ToArray();

    private static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double tolerance)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]} (tolerance {tolerance}).");
        }
    }
}
