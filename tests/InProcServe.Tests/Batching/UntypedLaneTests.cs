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

/// <summary>Untyped requests waiting together are joined into one run along the batch dimension, as Triton batches OIP requests.</summary>
public sealed class UntypedBatchingTests
{
    [Fact]
    public async Task Requests_that_wait_together_run_as_one_batch_and_each_gets_its_own_rows_of_the_reference()
    {
        var file = TestModels.Reference("fraud");
        var reference = file.Cases[0]; // 16 rows
        using var fraud = ModelSession.Load(TestModels.Path("fraud"));
        using var lane = new ExecutionLane("cpu", workers: 1);
        var (blocked, unblock) = await BlockAsync(lane);

        // Eight requests of two rows each, queued while the only worker is busy.
        var features = reference.Inputs[0].Data.Select(d => d.GetSingle()).ToArray();
        var inputs = Enumerable.Range(0, 8).Select(r => TensorValue.Create(features[(r * 60)..((r + 1) * 60)], [2, 30])).ToArray();
        var answers = inputs.Select(input => lane.RunAsync(fraud, [new("features", input)], ["probability"])).ToArray();
        await unblock.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        var outputs = await Task.WhenAll(answers);

        var expected = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        for (var r = 0; r < 8; r++)
        {
            using var output = outputs[r];
            Assert.Equal([2, 1], output["probability"].Shape.ToArray());
            var rows = output["probability"].GetSpan<float>().ToArray();
            Assert.Equal(expected[(r * 2)..((r + 1) * 2)], rows.Select(v => (double)v), new ToleranceComparer(file.Tolerance));
        }

        Assert.Equal(1, lane.UntypedQueueOf(fraud)!.Runs);
        foreach (var input in inputs) input.Dispose();
    }

    [Fact]
    public async Task Requests_that_differ_past_the_batch_dimension_or_in_their_outputs_run_apart()
    {
        var file = TestModels.Reference("multi_io");
        var reference = file.Cases[0]; // a, b: [5,4]
        using var session = ModelSession.Load(TestModels.Path("multi_io"));
        using var lane = new ExecutionLane("cpu", workers: 1);
        var (blocked, unblock) = await BlockAsync(lane);
        var a = reference.Inputs[0].Data.Select(d => d.GetSingle()).ToArray();
        var b = reference.Inputs[1].Data.Select(d => d.GetSingle()).ToArray();
        using var a1 = TensorValue.Create(a[..8], [2, 4]);
        using var b1 = TensorValue.Create(b[..8], [2, 4]);
        using var a2 = TensorValue.Create(a[8..], [3, 4]);
        using var b2 = TensorValue.Create(b[8..], [3, 4]);
        using var wrong = TensorValue.Create(new float[6], [2, 3]);

        var joinedFirst = lane.RunAsync(session, [new("a", a1), new("b", b1)], ["sum", "argmax"]);
        var joinedSecond = lane.RunAsync(session, [new("a", a2), new("b", b2)], ["sum", "argmax"]);
        var otherOutputs = lane.RunAsync(session, [new("a", a2), new("b", b2)], ["dot"]);
        var badShape = lane.RunAsync(session, [new("a", wrong), new("b", wrong)], ["sum", "argmax"]);
        await unblock.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);

        using var first = await joinedFirst;
        using var second = await joinedSecond;
        using var dot = await otherOutputs;
        var error = await Assert.ThrowsAsync<ArgumentException>(() => badShape);

        var sum = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        var argmax = reference.Outputs[2].Data.Select(d => d.GetInt64()).ToArray();
        var dots = reference.Outputs[1].Data.Select(d => d.GetDouble()).ToArray();
        Assert.Equal(sum[..8], first["sum"].GetSpan<float>().ToArray().Select(v => (double)v), new ToleranceComparer(file.Tolerance));
        Assert.Equal(sum[8..], second["sum"].GetSpan<float>().ToArray().Select(v => (double)v), new ToleranceComparer(file.Tolerance));
        Assert.Equal(argmax[..2], first["argmax"].GetSpan<long>().ToArray());
        Assert.Equal(argmax[2..], second["argmax"].GetSpan<long>().ToArray());
        Assert.Equal(dots[2..], dot["dot"].GetSpan<float>().ToArray().Select(v => (double)v), new ToleranceComparer(file.Tolerance));
        Assert.Contains("input 'a' expects float32[batch,4] but got float32[2,3]", error.Message);
        // The first two joined; the one asking for other outputs and the one with other dimensions ran alone.
        Assert.Equal(3, lane.UntypedQueueOf(session)!.Runs);
    }

    [Fact]
    public async Task A_joined_run_is_terminated_once_every_request_in_it_was_canceled()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        var (blocked, unblock) = await BlockAsync(lane);
        using var x1 = TensorValue.Create(new float[512], [1, 512]);
        using var x2 = TensorValue.Create(new float[512], [1, 512]);
        using var forever = TensorValue.Create(new[] { long.MaxValue }, [1]);
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var one = lane.RunAsync(session, [new("x", x1), new("iterations", forever)], ["y"], first.Token);
        var two = lane.RunAsync(session, [new("x", x2), new("iterations", forever)], ["y"], second.Token);
        await unblock.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        for (var waited = 0; !lane.UntypedQueueOf(session)!.IsEmpty; waited++)
        {
            Assert.True(waited < 3000, "the lane's worker never took the joined requests");
            await Task.Delay(10);
        }

        await first.CancelAsync();
        await second.CancelAsync();

        // Both loop forever unless the joined run is terminated: a hang here fails the test instead of the suite.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => one.WaitAsync(TimeSpan.FromSeconds(60)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => two.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, lane.UntypedQueueOf(session)!.Runs);
    }

    /// <summary>
    /// Occupies the lane's only worker with slow.onnx looping until the returned source is canceled, and returns once the
    /// worker has taken that request (its queue is empty again).
    /// </summary>
    private static async Task<(Task Blocked, CancellationTokenSource Unblock)> BlockAsync(ExecutionLane lane)
    {
        var slow = ModelSession.Load(TestModels.Path("slow"), new ModelSessionOptions { IntraOpThreads = 1 });
        var x = TensorValue.Create(new float[512], [1, 512]);
        var iterations = TensorValue.Create(new[] { long.MaxValue }, []);
        var unblock = new CancellationTokenSource();
        var running = lane.RunAsync(slow, [new("x", x), new("iterations", iterations)], ["y"], unblock.Token);
        for (var waited = 0; lane.UntypedQueueOf(slow) is not { IsEmpty: true }; waited++)
        {
            Assert.True(waited < 3000, "the lane's worker never took the blocking request");
            await Task.Delay(10);
        }

        var blocked = running.ContinueWith(t =>
        {
            x.Dispose();
            iterations.Dispose();
            slow.Dispose();
            return t;
        }, TaskScheduler.Default).Unwrap();
        return (blocked, unblock);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
