using System.Collections.Concurrent;
using System.Diagnostics;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Batching;

/// <summary>Queued predictions: results matched to their callers, batching, cancellation, deadlines, full queues, disposal.</summary>
public sealed class ModelBatcherTests
{
    private const double Tolerance = 1e-5;

    [Fact]
    public async Task Queued_predictions_match_the_numpy_reference_for_every_row()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(30).Select(r => new FraudRow(r)).ToArray();
        var expected = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 2);
        await using var batcher = ModelBatcher.Create<FraudRow, FraudScore>(session, lane, new BatchingOptions { MaxBatchSize = 4 });

        var scores = await Task.WhenAll(rows.Select(r => batcher.PredictAsync(r).AsTask()));

        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal(expected[i], scores[i].Probability, Tolerance);
        }
    }

    [Fact]
    public async Task Multi_input_multi_output_rows_come_back_to_their_callers()
    {
        var reference = TestModels.Reference("multi_io").Cases[0];
        var a = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(4).ToArray();
        var b = reference.Inputs[1].Data.Select(d => (float)d.GetDouble()).Chunk(4).ToArray();
        var sum = reference.Outputs[0].Data.Select(d => d.GetDouble()).Chunk(4).ToArray();
        var dot = reference.Outputs[1].Data.Select(d => d.GetDouble()).ToArray();
        var argmax = reference.Outputs[2].Data.Select(d => d.GetInt64()).ToArray();
        using var session = ModelSession.Load(TestModels.Path("multi_io"));
        using var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<Pair, PairResult>(session, lane, new BatchingOptions { MaxBatchSize = 3 });

        var results = await Task.WhenAll(a.Select((row, i) => batcher.PredictAsync(new Pair(row, b[i])).AsTask()));

        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(sum[i], results[i].Sum.Select(v => (double)v), new ToleranceComparer(Tolerance));
            Assert.Equal(dot[i], results[i].Dot, Tolerance);
            Assert.Equal(argmax[i], results[i].Argmax);
        }
    }

    [Theory]
    [InlineData(50)]
    [InlineData(0)] // Workers that sleep as soon as they find nothing to do.
    public async Task Many_concurrent_callers_each_get_the_result_of_their_own_input(int idleSpinMicroseconds)
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var runner = ModelRunner.Create<FraudRow, FraudScore>(session);
        using var lane = new ExecutionLane("cpu", workers: 2, TimeSpan.FromMicroseconds(idleSpinMicroseconds));
        await using var batcher = ModelBatcher.Create<FraudRow, FraudScore>(session, lane, new BatchingOptions { MaxBatchSize = 32, QueueCapacity = 64 });
        var random = new Random(7);
        var inputs = Enumerable.Range(0, 512).Select(_ => new FraudRow(Enumerable.Range(0, 30).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray())).ToArray();
        // The direct path is checked against numpy elsewhere; here it is the per-row reference.
        var expected = inputs.Select(i => runner.Predict(i).Probability).ToArray();

        var mismatches = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(caller => Task.Run(async () =>
        {
            for (var n = 0; n < 40; n++)
            {
                var index = (caller * 41 + n * 7) % inputs.Length;
                var score = await batcher.PredictAsync(inputs[index]);
                if (Math.Abs(score.Probability - expected[index]) > Tolerance)
                {
                    mismatches.Add($"caller {caller} row {index}: {score.Probability} != {expected[index]}");
                }
            }
        })));

        Assert.Empty(mismatches);
        Assert.Equal(0, batcher.QueueLength);
    }

    [Fact]
    public async Task A_small_queue_in_wait_mode_serves_many_callers_their_own_results_and_never_holds_more_than_its_capacity()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var runner = ModelRunner.Create<FraudRow, FraudScore>(session);
        using var lane = new ExecutionLane("cpu", workers: 2);
        await using var batcher = ModelBatcher.Create<FraudRow, FraudScore>(session, lane, new BatchingOptions { MaxBatchSize = 4, QueueCapacity = 4, FullMode = QueueFullMode.Wait });
        var random = new Random(11);
        var inputs = Enumerable.Range(0, 256).Select(_ => new FraudRow(Enumerable.Range(0, 30).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray())).ToArray();
        var expected = inputs.Select(i => runner.Predict(i).Probability).ToArray();
        var longest = 0;
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) longest = Math.Max(longest, batcher.QueueLength);
        });

        // 64 callers on 4 places: almost every call waits for a place first.
        var mismatches = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(caller => Task.Run(async () =>
        {
            for (var n = 0; n < 50; n++)
            {
                var index = (caller * 37 + n * 5) % inputs.Length;
                var score = await batcher.PredictAsync(inputs[index]);
                if (Math.Abs(score.Probability - expected[index]) > Tolerance) mismatches.Add($"caller {caller} row {index}");
            }
        })));
        await stop.CancelAsync();
        await watcher;

        Assert.Empty(mismatches);
        Assert.InRange(longest, 1, 4);
        Assert.Equal(0, batcher.QueueLength);
    }

    [Fact]
    public async Task Callers_waiting_for_a_place_fail_with_ObjectDisposedException_when_the_batcher_is_disposed()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 1, FullMode = QueueFullMode.Wait });
        var busy = await StartBusyBatch(batcher, new ConcurrentQueue<(int, int)>());
        var queued = batcher.PredictAsync(new SlowRow(1, 0.1f, 1)).AsTask();
        var waiting = Enumerable.Range(2, 10).Select(i => batcher.PredictAsync(new SlowRow(i, 0.1f, 1)).AsTask()).ToArray();
        Assert.All(waiting, w => Assert.False(w.IsCompleted));

        await batcher.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued);
        foreach (var caller in waiting) await Assert.ThrowsAsync<ObjectDisposedException>(() => caller);
        Assert.Equal(Tanh(0.5, (int)BusyIterations), (await busy).Y, Tolerance);
    }

    [Fact]
    public async Task Requests_queued_together_run_together_and_a_full_batch_does_not_wait_for_the_delay()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        var written = new ConcurrentQueue<(int Id, int Row)>();
        // A delay far longer than the test: only a full batch can start a run.
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 8, MaxDelay = TimeSpan.FromSeconds(10) });

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => batcher.PredictAsync(new SlowRow(i, i / 10f, 1, written)).AsTask()));

        Assert.Equal(Enumerable.Range(0, 8), written.Select(w => w.Row).Order());
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(Math.Tanh(i / 10.0), results[i].Y, Tolerance);
        }
    }

    [Fact]
    public async Task A_lone_request_runs_once_its_delay_is_over()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(30) });
        var started = Stopwatch.StartNew();

        var result = await batcher.PredictAsync(new SlowRow(0, 0.5f, 1));

        Assert.Equal(Math.Tanh(0.5), result.Y, Tolerance);
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(29), $"ran after {started.Elapsed.TotalMilliseconds} ms, before its 30 ms delay");
    }

    [Fact]
    public async Task A_request_canceled_while_queued_completes_at_once_frees_its_slot_and_never_runs()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        var written = new ConcurrentQueue<(int Id, int Row)>();
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 2, FullMode = QueueFullMode.Reject });
        using var endBusy = new CancellationTokenSource();
        var busy = await StartBusyBatch(batcher, written, EndlessIterations, cancellationToken: endBusy.Token);
        using var cancellation = new CancellationTokenSource();

        var canceled = batcher.PredictAsync(new SlowRow(1, 0.1f, 1, written), cancellation.Token).AsTask();
        var queued = batcher.PredictAsync(new SlowRow(2, 0.2f, 1, written)).AsTask();
        Assert.Equal(2, batcher.QueueLength);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);
        Assert.False(busy.IsCompleted, "the canceled request waited for the running batch");
        Assert.Equal(1, batcher.QueueLength);
        // Its slot is free again: the queue of two takes another request.
        var third = batcher.PredictAsync(new SlowRow(3, 0.3f, 1, written)).AsTask();

        await endBusy.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy);
        await Task.WhenAll(queued, third);
        Assert.Equal([0, 2, 3], written.Select(w => w.Id).Order());
    }

    [Fact]
    public async Task A_request_past_its_deadline_while_queued_times_out_and_never_runs()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        var written = new ConcurrentQueue<(int Id, int Row)>();
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1, DefaultTimeout = TimeSpan.FromMilliseconds(100) });
        using var endBusy = new CancellationTokenSource();
        var busy = await StartBusyBatch(batcher, written, EndlessIterations, TimeSpan.FromMinutes(10), endBusy.Token);

        var late = batcher.PredictAsync(new SlowRow(1, 0.1f, 1, written)).AsTask();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => late);
        Assert.Equal("Model 'slow_rows': the request passed its deadline of 100 ms.", error.Message);
        Assert.False(busy.IsCompleted, "the deadline waited for the running batch");
        Assert.Equal(0, batcher.QueueLength);
        await endBusy.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy);
        Assert.Equal([0], written.Select(w => w.Id));
    }

    [Fact]
    public async Task Canceling_every_request_of_a_running_batch_terminates_the_run()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        // Only a full batch starts a run: both requests are in it.
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 2, MaxDelay = TimeSpan.FromSeconds(10) });
        using var cancellation = new CancellationTokenSource();
        var written = new ConcurrentQueue<(int Id, int Row)>();

        // Uncanceled, this batch would run for hours.
        var endless = new[]
        {
            batcher.PredictAsync(new SlowRow(0, 0.5f, EndlessIterations, written), cancellation.Token).AsTask(),
            batcher.PredictAsync(new SlowRow(1, 0.5f, EndlessIterations, written), cancellation.Token).AsTask(),
        };
        await Poll.UntilAsync(() => written.Count == 2, TimeSpan.FromSeconds(30), 1);
        await Task.Delay(100);
        await cancellation.CancelAsync();

        foreach (var request in endless)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }

        // The lane's only worker is free again: the run was terminated, not left to finish.
        var next = await Task.WhenAll(batcher.PredictAsync(new SlowRow(2, 0.5f, 1)).AsTask(), batcher.PredictAsync(new SlowRow(3, 0.5f, 1)).AsTask()).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Math.Tanh(0.5), next[0].Y, Tolerance);
    }

    [Fact]
    public async Task Canceling_one_request_of_a_running_batch_leaves_the_others_their_results()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        // A delay far longer than the test: the run starts only once both requests are queued, so they share it
        // (with no delay the worker may take the first alone, and the test would cancel a finished request).
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 2, MaxDelay = TimeSpan.FromSeconds(10) });
        using var cancellation = new CancellationTokenSource();
        var written = new ConcurrentQueue<(int Id, int Row)>();

        var canceled = batcher.PredictAsync(new SlowRow(0, 0.5f, BusyIterations, written), cancellation.Token).AsTask();
        var kept = batcher.PredictAsync(new SlowRow(1, 0.25f, BusyIterations, written)).AsTask();
        await Poll.UntilAsync(() => written.Count == 2, TimeSpan.FromSeconds(30), 1);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);
        Assert.False(kept.IsCompleted, "the batch ended with the canceled request");
        var result = await kept;
        // After this many float32 steps the value has drifted from the double recurrence; the direct path is the reference.
        using var runner = ModelRunner.Create<SlowRow, SlowResult>(session);
        Assert.Equal(runner.Predict(new SlowRow(1, 0.25f, BusyIterations)).Y, result.Y);
    }

    [Fact]
    public async Task A_full_queue_rejects_at_once_in_reject_mode()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 2, FullMode = QueueFullMode.Reject });
        var busy = await StartBusyBatch(batcher, new ConcurrentQueue<(int, int)>());
        var queued = new[] { batcher.PredictAsync(new SlowRow(1, 0.1f, 1)).AsTask(), batcher.PredictAsync(new SlowRow(2, 0.2f, 1)).AsTask() };

        var error = await Assert.ThrowsAsync<QueueFullException>(() => batcher.PredictAsync(new SlowRow(3, 0.3f, 1)).AsTask());

        Assert.Equal("slow_rows", error.ModelName);
        Assert.Equal(2, error.Capacity);
        Assert.Contains("the queue is full (2 requests waiting)", error.Message);
        await Task.WhenAll([busy, .. queued]);
    }

    [Fact]
    public async Task A_full_queue_makes_callers_wait_in_wait_mode_until_their_deadline()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 1, FullMode = QueueFullMode.Wait });
        // Busy until the test ends it, however slowly this machine runs the rest.
        using var endBusy = new CancellationTokenSource();
        var busy = await StartBusyBatch(batcher, new ConcurrentQueue<(int, int)>(), EndlessIterations, cancellationToken: endBusy.Token);
        var queued = batcher.PredictAsync(new SlowRow(1, 0.1f, 1)).AsTask();

        var waiting = batcher.PredictAsync(new SlowRow(2, 0.2f, 1)).AsTask();
        var impatient = batcher.PredictAsync(new SlowRow(3, 0.3f, 1), TimeSpan.FromMilliseconds(50)).AsTask();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => impatient);
        Assert.Equal("Model 'slow_rows': the request passed its deadline of 50 ms waiting for a place in the full queue (1 requests).", error.Message);
        Assert.False(waiting.IsCompleted);
        await endBusy.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy);
        await Task.WhenAll(queued, waiting);
        Assert.Equal(Math.Tanh(0.2), (await waiting).Y, Tolerance);
    }

    [Fact]
    public async Task A_waiter_that_times_out_leaves_the_place_to_the_next_waiter()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 1, FullMode = QueueFullMode.Wait });
        var written = new ConcurrentQueue<(int Id, int Row)>();
        using var endBusy = new CancellationTokenSource();
        var busy = await StartBusyBatch(batcher, written, EndlessIterations, cancellationToken: endBusy.Token);
        var queued = batcher.PredictAsync(new SlowRow(1, 0.1f, 1, written)).AsTask();

        // A deadline of one tick passes before any place frees: the place that frees goes to the patient caller.
        var late = batcher.PredictAsync(new SlowRow(2, 0.2f, 1, written), TimeSpan.FromTicks(1)).AsTask();
        var patient = batcher.PredictAsync(new SlowRow(3, 0.3f, 1, written)).AsTask();
        await endBusy.CancelAsync();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => late);
        Assert.Contains("waiting for a place in the full queue (1 requests)", error.Message);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy);
        Assert.Equal(Math.Tanh(0.3), (await patient).Y, Tolerance);
        await queued;
        Assert.Equal([0, 1, 3], written.Select(w => w.Id).Order());
        Assert.Equal(0, batcher.QueueLength);
    }

    [Fact]
    public async Task A_row_that_does_not_fit_fails_its_own_caller_only()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<FraudRow, FraudScore>(session, lane, new BatchingOptions { MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(20) });

        var good = batcher.PredictAsync(new FraudRow(new float[30])).AsTask();
        var bad = batcher.PredictAsync(new FraudRow(new float[29])).AsTask();
        var alsoGood = batcher.PredictAsync(new FraudRow(new float[30])).AsTask();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => bad);
        Assert.Contains("FraudRow.Features in row", error.Message);
        Assert.Contains("has 29 elements; the model contract declares 30", error.Message);
        Assert.Equal((await good).Probability, (await alsoGood).Probability);
    }

    [Fact]
    public async Task Disposing_under_load_answers_every_caller_with_a_result_or_ObjectDisposedException()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 2);
        for (var round = 0; round < 10; round++)
        {
            var batcher = ModelBatcher.Create<FraudRow, FraudScore>(session, lane, new BatchingOptions { MaxBatchSize = 16, QueueCapacity = 64 });
            var outcomes = new ConcurrentBag<string>();
            var callers = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                for (var n = 0; n < 50; n++)
                {
                    try
                    {
                        var score = await batcher.PredictAsync(new FraudRow(new float[30]));
                        outcomes.Add(score.Probability is > 0 and < 1 ? "ok" : $"bad score {score.Probability}");
                    }
                    catch (ObjectDisposedException)
                    {
                        outcomes.Add("disposed");
                    }
                }
            })).ToArray();
            await Task.Delay(round);

            await batcher.DisposeAsync();
            await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(32 * 50, outcomes.Count);
            Assert.All(outcomes, o => Assert.True(o is "ok" or "disposed", o));
            await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.PredictAsync(new FraudRow(new float[30])).AsTask());
        }
    }

    [Fact]
    public async Task Disposing_the_lane_fails_queued_requests_and_later_calls()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1 });
        var busy = await StartBusyBatch(batcher, new ConcurrentQueue<(int, int)>());
        var queued = batcher.PredictAsync(new SlowRow(1, 0.1f, 1)).AsTask();

        lane.Dispose();

        // The batch in hand finished: its result is the direct path's for the same row.
        using var runner = ModelRunner.Create<SlowRow, SlowResult>(session);
        Assert.Equal(runner.Predict(new SlowRow(0, 0.5f, BusyIterations)).Y, (await busy).Y);
        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => queued);
        Assert.Contains("Lane 'cpu' was disposed.", error.Message);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.PredictAsync(new SlowRow(2, 0.1f, 1)).AsTask());
    }

    [Fact]
    public async Task A_disposed_session_fails_the_batch_with_ObjectDisposedException()
    {
        var session = ModelSession.Load(TestModels.Path("fraud"));
        using var lane = new ExecutionLane("cpu", workers: 1);
        await using var batcher = ModelBatcher.Create<FraudRow, FraudScore>(session, lane);
        session.Dispose();

        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.PredictAsync(new FraudRow(new float[30])).AsTask());
        Assert.Contains("Model 'fraud': the session was disposed.", error.Message);
    }

    [Fact]
    public void Invalid_options_are_named_all_at_once()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var lane = new ExecutionLane("cpu", workers: 1);

        var error = Assert.Throws<ArgumentException>(() => ModelBatcher.Create<FraudRow, FraudScore>(session, lane, new BatchingOptions
        {
            MaxBatchSize = 0,
            MaxDelay = TimeSpan.FromMilliseconds(-1),
            QueueCapacity = 0,
            FullMode = (QueueFullMode)7,
            DefaultTimeout = TimeSpan.Zero,
            Priority = 0,
        }));

        Assert.Equal(
            """
            Model 'fraud': invalid batching options:
              - MaxBatchSize is 0; it must be 1 or more.
              - MaxDelay is -00:00:00.0010000; it must be zero or more.
              - QueueCapacity is 0; it must be 1 or more.
              - FullMode is 7; it must be one of Wait, Reject.
              - DefaultTimeout is 00:00:00; it must be positive, or null for no deadline.
              - Priority is 0; it must be from 1 to 100. (Parameter 'options')
            """.ReplaceLineEndings(),
            error.Message);
    }

    /// <summary>
    /// Steps of a busy batch: about 1.5 s here (15 µs a step), so that a test thread the parallel suite stalls for a
    /// while still finds the worker busy.
    /// </summary>
    private const long BusyIterations = 100_000;

    /// <summary>Steps of a batch that runs for hours: a test that starts one cancels it.</summary>
    private const long EndlessIterations = 100_000_000;

    /// <summary>Starts a one-request batch that keeps the lane's worker busy for <paramref name="iterations"/> steps, and waits until it runs.</summary>
    private static async Task<Task<SlowResult>> StartBusyBatch(ModelBatcher<SlowRow, SlowResult> batcher, ConcurrentQueue<(int Id, int Row)> written, long iterations = BusyIterations, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var row = new SlowRow(0, 0.5f, iterations, written);
        var busy = (timeout is { } t ? batcher.PredictAsync(row, t, cancellationToken) : batcher.PredictAsync(row, cancellationToken)).AsTask();
        await Poll.UntilAsync(() => !written.IsEmpty, TimeSpan.FromSeconds(30), 1);
        Assert.Equal(0, batcher.QueueLength);
        return busy;
    }

    /// <summary>tanh applied <paramref name="steps"/> times: slow_rows' output for a row of equal values (numpy's recurrence, in double).</summary>
    private static double Tanh(double value, int steps)
    {
        for (var i = 0; i < steps; i++) value = Math.Tanh(value);
        return value;
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double value) => 0;
    }
}
