using InProcServe.Tests.TestSupport;

namespace InProcServe.Cli.Tests.Tensors;

public sealed class ModelInputsTests
{
    [Fact]
    public void Generated_inputs_take_the_batch_for_a_dynamic_first_dimension_and_the_given_shape_for_the_rest()
    {
        using var session = ModelSession.Load(TestModels.Path("dynamic"));

        var inputs = ModelInputs.Generate(session, 7, ModelInputs.ParseShapes(["x=1,5"]));

        Assert.Equal([7L, 5L], inputs["x"].Shape);
        var values = (float[])inputs["x"].Data;
        Assert.Equal(35, values.Length);
        Assert.All(values, v => Assert.InRange(v, -1f, 1f));
        Assert.Equal(values, (float[])ModelInputs.Generate(session, 7, ModelInputs.ParseShapes(["x=1,5"])).Single().Value.Data);
        Assert.Equal(7, ModelInputs.Rows(inputs, session));
    }

    [Theory]
    [InlineData("x", "--shape 'x': expected NAME=d0,d1,…")]
    [InlineData("x=1,-5", "--shape 'x=1,-5': expected NAME=d0,d1,…")]
    [InlineData("x=1,5,2", "--shape x=1,5,2 has rank 3, but input x: float32[batch,seq] has rank 2.")]
    [InlineData("y=1,5", "--shape names 'y', but the model's inputs are 'x'.")]
    public void A_bad_shape_says_what_was_expected(string shape, string message)
    {
        using var session = ModelSession.Load(TestModels.Path("dynamic"));

        var error = Assert.Throws<CliException>(() => ModelInputs.Generate(session, 1, ModelInputs.ParseShapes([shape])));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_input_file_of_another_element_type_is_refused_naming_both()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "inputs.json");
        File.WriteAllText(path, """{"inputs": {"features": {"type": "float64", "shape": [1, 30], "data": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}}""");
        using var session = ModelSession.Load(TestModels.Path("fraud"));

        var error = Assert.Throws<CliException>(() => ModelInputs.Read(path, session));

        Assert.Equal($"'{path}': input 'features' holds float64, but the model takes float32[batch,30].", error.Message);
    }
}
