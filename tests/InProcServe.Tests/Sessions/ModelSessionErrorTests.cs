using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>Every mistake gets an exception that names the model, the tensor, what was expected and what came.</summary>
public sealed class ModelSessionErrorTests : IDisposable
{
    private readonly ModelSession fraud = ModelSession.Load(TestModels.Path("fraud"));
    private readonly ModelSession multi = ModelSession.Load(TestModels.Path("multi_io"));

    public void Dispose()
    {
        fraud.Dispose();
        multi.Dispose();
    }

    [Fact]
    public void A_missing_file_names_the_model_and_the_full_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-folder", "scorer.onnx");

        var error = Assert.Throws<FileNotFoundException>(() => ModelSession.Load(path));

        Assert.Equal($"Model 'scorer': the model file '{path}' does not exist.", error.Message);
        Assert.Equal(path, error.FileName);
    }

    [Fact]
    public void A_corrupt_model_is_an_OnnxRuntimeException_with_the_model_name_and_ORTs_reason()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "broken.onnx");
        File.WriteAllBytes(path, "this is not a protobuf"u8.ToArray());

        var error = Assert.Throws<OnnxRuntimeException>(() => ModelSession.Load(path));

        Assert.Equal(OnnxRuntimeErrorCode.InvalidProtobuf, error.ErrorCode);
        Assert.StartsWith($"Model 'broken': loading '{path}' failed: ", error.Message);
        Assert.Contains("Protobuf parsing failed", error.Message);
    }

    [Fact]
    public void Corrupt_bytes_and_empty_bytes_are_refused()
    {
        var corrupt = Assert.Throws<OnnxRuntimeException>(() => ModelSession.Load([0xff, 0x00, 0x13], new ModelSessionOptions { Name = "blob" }));
        var empty = Assert.Throws<ArgumentException>(() => ModelSession.Load(ReadOnlySpan<byte>.Empty));

        Assert.StartsWith("Model 'blob': loading 3 bytes failed: ", corrupt.Message);
        Assert.StartsWith("Model 'model': the model bytes are empty.", empty.Message);
    }

    [Fact]
    public void Invalid_options_are_all_named_in_one_message()
    {
        var options = new ModelSessionOptions { IntraOpThreads = -1, InterOpThreads = -2, GraphOptimization = (GraphOptimizationLevel)7, OptimizedModelPath = "" };

        var error = Assert.Throws<ArgumentException>(() => ModelSession.Load(TestModels.Path("fraud"), options));

        Assert.Contains("Model 'fraud': invalid session options", error.Message);
        Assert.Contains("IntraOpThreads is -1", error.Message);
        Assert.Contains("InterOpThreads is -2", error.Message);
        Assert.Contains("GraphOptimization is 7", error.Message);
        Assert.Contains("OptimizedModelPath is empty", error.Message);
    }

    [Fact]
    public void An_unknown_input_name_lists_the_inputs_the_model_has()
    {
        using var input = TensorValue.Create(new float[30], [1, 30]);

        var error = Assert.Throws<ArgumentException>(() => fraud.Run([("feature", input)]));

        Assert.StartsWith("Model 'fraud' has no input named 'feature'. Its inputs are: features: float32[batch,30].", error.Message);
    }

    [Fact]
    public void A_wrong_element_type_names_both_types()
    {
        using var input = TensorValue.Create(new double[30], [1, 30]);

        var error = Assert.Throws<ArgumentException>(() => fraud.Run([("features", input)]));

        Assert.StartsWith("Model 'fraud': input 'features' expects float32[batch,30] but got float64[1,30]: the element type is float64, not float32.", error.Message);
    }

    [Fact]
    public void A_wrong_rank_names_both_ranks()
    {
        using var input = TensorValue.Create(new float[30], [30]);

        var error = Assert.Throws<ArgumentException>(() => fraud.Run([("features", input)]));

        Assert.StartsWith("Model 'fraud': input 'features' expects float32[batch,30] but got float32[30]: the rank is 1, not 2.", error.Message);
    }

    [Fact]
    public void A_wrong_fixed_dimension_names_the_dimension()
    {
        using var input = TensorValue.Create(new float[29], [1, 29]);

        var error = Assert.Throws<ArgumentException>(() => fraud.Run([("features", input)]));

        Assert.StartsWith("Model 'fraud': input 'features' expects float32[batch,30] but got float32[1,29]: dimension 1 is 29, not 30.", error.Message);
    }

    [Fact]
    public void Too_few_inputs_lists_the_missing_ones()
    {
        using var a = TensorValue.Create(new float[4], [1, 4]);

        var error = Assert.Throws<ArgumentException>(() => multi.Run([("a", a)]));

        Assert.StartsWith("Model 'multi_io': the run is missing input b: float32[batch,4]. Every model input must be given.", error.Message);
    }

    [Fact]
    public void An_input_given_twice_is_refused()
    {
        using var a = TensorValue.Create(new float[4], [1, 4]);

        var error = Assert.Throws<ArgumentException>(() => multi.Run([("a", a), ("a", a)]));

        Assert.StartsWith("Model 'multi_io': input 'a' is given twice.", error.Message);
    }

    [Fact]
    public void Output_mistakes_are_named_too()
    {
        using var features = TensorValue.Create(new float[60], [2, 30]);
        using var wrongShape = TensorValue.Create(new float[3], [3, 1]);
        using var right = TensorValue.Create(new float[2], [2, 1]);

        var unknown = Assert.Throws<ArgumentException>(() => fraud.Run([("features", features)], [("prob", right)]));
        var twice = Assert.Throws<ArgumentException>(() => fraud.Run([("features", features)], ["probability", "probability"]));
        // The batch dimension is dynamic, so only ONNX Runtime knows the output will have 2 rows, not 3.
        var shape = Assert.Throws<OnnxRuntimeException>(() => fraud.Run([("features", features)], [("probability", wrongShape)]));

        Assert.StartsWith("Model 'fraud' has no output named 'prob'. Its outputs are: probability: float32[batch,1].", unknown.Message);
        Assert.StartsWith("Model 'fraud': output 'probability' is requested twice.", twice.Message);
        Assert.StartsWith("Model 'fraud': Run failed: ", shape.Message);
    }

    [Fact]
    public void A_shape_that_does_not_match_the_data_is_refused_when_the_tensor_is_made()
    {
        var error = Assert.Throws<ArgumentException>(() => TensorValue.Create(new float[29], [1, 30]));

        Assert.StartsWith("The shape [1,30] holds 30 elements, but the Single data has 29.", error.Message);
    }

    [Fact]
    public void A_failed_run_leaves_the_session_usable()
    {
        using var wrong = TensorValue.Create(new float[29], [1, 29]);
        using var right = TensorValue.Create(new float[30], [1, 30]);

        Assert.Throws<ArgumentException>(() => fraud.Run([("features", wrong)]));
        using var outputs = fraud.Run([("features", right)]);

        Assert.Equal([1L, 1], outputs["probability"].Shape.ToArray());
    }
}
