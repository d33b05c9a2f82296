using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>Untyped runs over tensors bound once: results, checks at bind time, lifetime and allocation.</summary>
public sealed class BoundRunTests
{
    [Theory]
    [InlineData("fraud")]
    [InlineData("multi_io")]
    public void A_bound_run_matches_the_numpy_reference_and_again_after_the_inputs_are_refilled(string model)
    {
        var reference = TestModels.Reference(model);
        using var session = ModelSession.Load(TestModels.Path(model));
        var @case = reference.Cases[0];
        var inputs = @case.Inputs.Select(i => new NamedTensor(i.Name, i.ToTensor())).ToArray();
        var outputs = @case.Outputs.Select(o => new NamedTensor(o.Name, o.AllocateLike())).ToArray();
        try
        {
            using var bound = session.Bind(inputs, outputs);

            bound.Run();
            foreach (var expected in @case.Outputs) expected.AssertMatches(outputs.Single(o => o.Name == expected.Name).Value, reference.Tolerance);

            // Spoil the outputs and run again over the same memory: the outputs must be written anew.
            foreach (var output in outputs) Clear(output.Value);
            bound.Run();
            foreach (var expected in @case.Outputs) expected.AssertMatches(outputs.Single(o => o.Name == expected.Name).Value, reference.Tolerance);
        }
        finally
        {
            foreach (var tensor in inputs.Concat(outputs)) tensor.Value.Dispose();
        }
    }

    [Fact]
    public void Binding_checks_the_tensors_as_Run_does_and_names_the_difference()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var wrong = TensorValue.Create(new float[29], [1, 29]);
        using var output = TensorValue.Create(new float[1], [1, 1]);

        var shape = Assert.Throws<ArgumentException>(() => session.Bind([("features", wrong)], [("probability", output)]));
        var missing = Assert.Throws<ArgumentException>(() => session.Bind([], [("probability", output)]));

        Assert.StartsWith("Model 'fraud': input 'features' expects float32[batch,30] but got float32[1,29]: dimension 1 is 29, not 30.", shape.Message);
        Assert.StartsWith("Model 'fraud': the run is missing input features: float32[batch,30].", missing.Message);
    }

    [Fact]
    public void Bound_tensors_outlive_their_own_Dispose_and_a_disposed_bound_run_or_session_refuses_to_run()
    {
        var reference = TestModels.Reference("fraud");
        var session = ModelSession.Load(TestModels.Path("fraud"));
        var input = reference.Cases[0].Inputs[0].ToTensor();
        var outputData = new float[16];
        var output = TensorValue.Create(outputData, [16, 1]);
        var bound = session.Bind([("features", input)], [("probability", output)]);
        input.Dispose();
        output.Dispose();

        bound.Run();
        var afterTensorsDisposed = outputData.ToArray();
        bound.Dispose();
        var disposedRun = Assert.Throws<ObjectDisposedException>(() => bound.Run());

        using var second = reference.Cases[0].Inputs[0].ToTensor();
        using var secondOutput = TensorValue.Create(new float[16], [16, 1]);
        using var secondBound = session.Bind([("features", second)], [("probability", secondOutput)]);
        session.Dispose();
        var disposedSession = Assert.Throws<ObjectDisposedException>(() => secondBound.Run());

        var expected = reference.Cases[0].Outputs[0].Data.Select(v => v.GetSingle()).ToArray();
        Assert.Equal(expected, afterTensorsDisposed, (a, b) => Math.Abs(a - b) <= reference.Tolerance);
        Assert.Contains("the bound run was disposed", disposedRun.Message);
        Assert.Contains("the session was disposed", disposedSession.Message);
    }

    [Fact]
    public void A_bound_run_allocates_nothing()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var input = TensorValue.Create(new float[30], [1, 30]);
        using var output = TensorValue.Create(new float[1], [1, 1]);
        using var bound = session.Bind([("features", input)], [("probability", output)]);
        for (var i = 0; i < 100; i++) bound.Run(); // warm-up: first-run planning and JIT

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) bound.Run();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    private static void Clear(TensorValue tensor)
    {
        switch (tensor.ElementType)
        {
            case TensorElementType.Float: tensor.GetSpan<float>().Fill(float.NaN); break;
            case TensorElementType.Int64: tensor.GetSpan<long>().Fill(-1); break;
            default: throw new NotSupportedException($"The test clears float and int64 outputs, not {tensor}.");
        }
    }
}
