using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Batching;

/// <summary>Untyped requests (tensors that already hold a batch) run on a lane beside its typed queues.</summary>
public sealed class UntypedLaneTests
{
    [Fact]
    public async Task An_untyped_request_runs_on_the_lane_and_matches_the_numpy_reference()
    {
        var file = TestModels.Reference("multi_io");
        var reference = file.Cases[0];
        using var session = ModelSession.Load(TestModels.Path("multi_io"));
        using var lane = new ExecutionLane("cpu", workers: 1);
        var a = reference.Inputs[0];
        var b = reference.Inputs[1];
        using var aValue = TensorValue.Create(a.Data.Select(d => (float)d.GetDouble()).ToArray(), a.Shape);
        using var bValue = TensorValue.Create(b.Data.Select(d => (float)d.GetDouble()).ToArray(), b.Shape);

        using var outputs = await lane.RunAsync(session, [new("a", aValue), new("b", bValue)], ["argmax", "dot"]);

        Assert.Equal(["argmax", "dot"], outputs.Select(o => o.Name));
        Assert.Equal(reference.Outputs[2].Data.Select(d => d.GetInt64()), outputs["argmax"].GetSpan<long>().ToArray());
        var dot = reference.Outputs[1].Data.Select(d => d.GetDouble()).ToArray();
        var actual = outputs["dot"].GetSpan<float>().ToArray();
        for (var i = 0; i < dot.Length; i++) Assert.Equal(dot[i], actual[i], file.Tolerance);
    }

    [Fact]
    public async Task Bad_inputs_fail_the_request_with_the_session_s_message_and_the_lane_keeps_serving()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var lane = new ExecutionLane("cpu", workers: 1);
        using var wrong = TensorValue.Create(new float[29], [1, 29]);
        using var right = TensorValue.Create(new float[30], [1, 30]);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => lane.RunAsync(session, [new("features", wrong)], ["probability"]));
        using var outputs = await lane.RunAsync(session, [new("features", right)], ["probability"]);

        Assert.Contains("input 'features' expects float32[batch,30] but got float32[1,29]", error.Message);
        Assert.InRange(outputs["probability"].GetSpan<float>()[0], 0f, 1f);
    }

    [Fact]
    public async Task A_canceled_request_never_runs_and_a_disposed_lane_refuses_new_ones()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        var lane = new ExecutionLane("cpu", workers: 1);
        using var input = TensorValue.Create(new float[30], [1, 30]);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lane.RunAsync(session, [new("features", input)], ["probability"], new CancellationToken(canceled: true)));
        lane.Dispose();

        // Refused as it is called, not through the task: the lane is gone.
        var refused = Record.Exception(() => { _ = lane.RunAsync(session, [new("features", input)], ["probability"]); });
        Assert.IsType<ObjectDisposedException>(refused);
    }
}
