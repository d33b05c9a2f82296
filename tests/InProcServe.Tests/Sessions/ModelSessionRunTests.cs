using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>Runs every committed model on its reference inputs and compares with the numpy outputs.</summary>
public sealed class ModelSessionRunTests
{
    public static TheoryData<string> Models => new() { "fraud", "multi_io", "all_types", "dynamic", "fixed", "slow", "strings", "images", "wide" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Outputs_allocated_by_OnnxRuntime_match_the_numpy_reference(string model)
    {
        var reference = TestModels.Reference(model);
        using var session = ModelSession.Load(TestModels.Path(model));
        foreach (var @case in reference.Cases)
        {
            var inputs = @case.Inputs.Select(i => new NamedTensor(i.Name, i.ToTensor())).ToArray();
            try
            {
                using var outputs = session.Run(inputs);
                Assert.Equal(@case.Outputs.Select(o => o.Name), outputs.Select(o => o.Name));
                foreach (var expected in @case.Outputs)
                {
                    expected.AssertMatches(outputs[expected.Name], reference.Tolerance);
                }
            }
            finally
            {
                foreach (var input in inputs) input.Value.Dispose();
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Outputs_written_into_caller_tensors_match_the_numpy_reference(string model)
    {
        var reference = TestModels.Reference(model);
        using var session = ModelSession.Load(TestModels.Path(model));
        foreach (var @case in reference.Cases)
        {
            // Reversed order: a run binds by name, not by position.
            var inputs = @case.Inputs.Reverse().Select(i => new NamedTensor(i.Name, i.ToTensor())).ToArray();
            var outputs = @case.Outputs.Reverse().Select(o => new NamedTensor(o.Name, o.AllocateLike())).ToArray();
            try
            {
                session.Run(inputs, outputs);
                foreach (var (name, value) in outputs)
                {
                    @case.Outputs.Single(o => o.Name == name).AssertMatches(value, reference.Tolerance);
                }
            }
            finally
            {
                foreach (var tensor in inputs.Concat(outputs)) tensor.Value.Dispose();
            }
        }
    }

    [Fact]
    public void A_subset_of_outputs_can_be_requested()
    {
        var reference = TestModels.Reference("multi_io");
        var @case = reference.Cases[0];
        using var session = ModelSession.Load(TestModels.Path("multi_io"));
        using var a = @case.Inputs[0].ToTensor();
        using var b = @case.Inputs[1].ToTensor();

        using var outputs = session.Run([("a", a), ("b", b)], ["argmax", "dot"]);

        Assert.Equal(["argmax", "dot"], outputs.Select(o => o.Name));
        @case.Outputs.Single(o => o.Name == "argmax").AssertMatches(outputs["argmax"], 0);
        @case.Outputs.Single(o => o.Name == "dot").AssertMatches(outputs["dot"], reference.Tolerance);
        var missing = Assert.Throws<KeyNotFoundException>(() => outputs["sum"]);
        Assert.Contains("argmax, dot", missing.Message);
    }

    [Fact]
    public void Writes_to_caller_memory_are_seen_by_the_next_run_without_recreating_the_tensor()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(30).ToArray();
        var expected = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        var features = new float[30];
        var probability = new float[1];
        using var input = TensorValue.Create(features, [1, 30]);
        using var output = TensorValue.Create(probability, [1, 1]);

        for (var row = 0; row < rows.Length; row++)
        {
            rows[row].CopyTo(features, 0);
            session.Run([("features", input)], [("probability", output)]);
            Assert.True(Math.Abs(expected[row] - probability[0]) <= 1e-5, $"row {row}: expected {expected[row]}, got {probability[0]}");
        }
    }
}
