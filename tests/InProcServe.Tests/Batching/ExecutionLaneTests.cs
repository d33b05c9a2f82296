using System.Collections.Concurrent;
using System.Diagnostics;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Batching;

/// <summary>
/// The lane's scheduler: models sharing one worker take turns (a flooded model can't starve a quiet one),
/// priorities weight the turns, and the lane's own life cycle.
/// </summary>
/// <remarks>
/// Every test holds the lane's only worker in an endless batch of a third model while it queues requests, then
/// cancels that batch (which terminates the run): the worker then sees every queued request at once, so the order
/// in which it writes rows (SlowRow's Written queue) depends on the scheduler alone, not on timing.
/// </remarks>
public sealed class ExecutionLaneTests
{
    [Fact]
    public async Task A_quiet_model_runs_next_while_a_flooded_model_still_has_hundreds_queued()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        var written = new ConcurrentQueue<(int Id, int Row)>();
        var single = new BatchingOptions { MaxBatchSize = 1 };
        await using var flooded = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, single);
        await using var quiet = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, single);
        await using var blocker = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, single);
        using var unblock = new CancellationTokenSource();
        var blocked = await Block(blocker, written, unblock.Token);

        var flood = Enumerable.Range(0, 300).Select(i => flooded.PredictAsync(new SlowRow(i, 0.1f, 1, written)).AsTask()).ToArray();
        var alone = quiet.PredictAsync(new SlowRow(1000, 0.2f, 1, written)).AsTask();
        Assert.Equal(300, flooded.QueueLength);
        Assert.Equal(1, quiet.QueueLength);
        await unblock.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        Assert.Equal(Math.Tanh(0.2), (await alone).Y, 1e-5);
        await Task.WhenAll(flood);
        var order = written.Select(w => w.Id).Skip(1).ToList();
        // Round-robin: the quiet model's request is written before the flooded model's second, with 299 still queued.
        Assert.InRange(order.IndexOf(1000), 0, 1);
        Assert.Equal(Enumerable.Range(0, 300), order.Where(id => id != 1000));
    }

    [Fact]
    public async Task A_model_of_priority_3_runs_three_batches_per_turn_to_the_others_one()
    {
        using var session = ModelSession.Load(TestModels.Path("slow_rows"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("cpu", workers: 1);
        var written = new ConcurrentQueue<(int Id, int Row)>();
        await using var heavy = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1, Priority = 3 });
        await using var light = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1 });
        await using var blocker = ModelBatcher.Create<SlowRow, SlowResult>(session, lane, new BatchingOptions { MaxBatchSize = 1 });
        using var unblock = new CancellationTokenSource();
        var blocked = await Block(blocker, written, unblock.Token);

        // Ids 0–29 go to the heavy model, 100–129 to the light one.
        var requests = Enumerable.Range(0, 30)
            .SelectMany(i => new[] { heavy.PredictAsync(new SlowRow(i, 0.1f, 1, written)).AsTask(), light.PredictAsync(new SlowRow(100 + i, 0.1f, 1, written)).AsTask() })
            .ToArray();
        await unblock.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        await Task.WhenAll(requests);
        var pattern = string.Concat(written.Skip(1).Select(w => w.Id < 100 ? 'H' : 'L'));
        // While both have requests queued, every turn of the heavy model is three batches (its first turn may have
        // begun before the blocker's), every turn of the light one is one; then the light model's rest:
        // HHHL HHHL … HHH L…L, give or take where the first turn starts.
        var whileBoth = pattern[..(pattern.LastIndexOf('H') + 1)];
        var turns = whileBoth.Split('L', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(turns.Skip(1), turn => Assert.True(turn == "HHH", pattern));
        Assert.True(turns[0].Length is >= 1 and <= 3, pattern);
        Assert.True(!whileBoth.Contains("LL"), pattern);
        Assert.Equal(new string('L', 30 - whileBoth.Count(c => c == 'L')), pattern[(pattern.LastIndexOf('H') + 1)..]);
        Assert.Equal(30, pattern.Count(c => c == 'H'));
        // Each model's own requests run in the order they were queued.
        Assert.Equal(Enumerable.Range(0, 30), written.Skip(1).Select(w => w.Id).Where(id => id < 100));
        Assert.Equal(Enumerable.Range(100, 30), written.Skip(1).Select(w => w.Id).Where(id => id >= 100));
    }

    [Fact]
    public void A_lane_needs_a_name_and_zero_or_more_workers()
    {
        Assert.Throws<ArgumentException>(() => new ExecutionLane(""));
        Assert.Throws<ArgumentException>(() => new ExecutionLane("  "));
        Assert.Throws<ArgumentNullException>(() => new ExecutionLane(null!));
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionLane("cpu", workers: -1));
        Assert.Equal("workers", negative.ParamName);
        Assert.Equal("idleSpin", Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionLane("cpu", idleSpin: TimeSpan.FromTicks(-1))).ParamName);
        Assert.Equal("idleSpin", Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionLane("cpu", idleSpin: TimeSpan.FromSeconds(1))).ParamName);

        using var defaulted = new ExecutionLane("cpu");
        using var one = new ExecutionLane("cuda:0", workers: 1);
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), defaulted.Workers);
        Assert.Equal(1, one.Workers);
        Assert.Equal("cuda:0", one.Name);
    }

    [Fact]
    public async Task Disposing_twice_is_harmless_and_a_disposed_lane_takes_no_models()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
        var lane = new ExecutionLane("cpu", workers: 2);
        await using (var batcher = ModelBatcher.Create<FraudRow, FraudScore>(session, lane))
        {
            Assert.InRange((await batcher.PredictAsync(new FraudRow(new float[30]))).Probability, 0, 1);
        }

        lane.Dispose();
        lane.Dispose();

        var error = Assert.Throws<ObjectDisposedException>(() => ModelBatcher.Create<FraudRow, FraudScore>(session, lane));
        Assert.Contains(nameof(ExecutionLane), error.Message);
    }

    /// <summary>Occupies the lane's only worker with an endless batch of <paramref name="blocker"/> until <paramref name="unblock"/> is canceled.</summary>
    private static async Task<Task<SlowResult>> Block(ModelBatcher<SlowRow, SlowResult> blocker, ConcurrentQueue<(int Id, int Row)> written, CancellationToken unblock)
    {
        var blocked = blocker.PredictAsync(new SlowRow(-1, 0.5f, 100_000_000, written), unblock).AsTask();
        var waited = Stopwatch.StartNew();
        while (written.IsEmpty)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the blocking batch never started");
            await Task.Delay(1);
        }

        return blocked;
    }
}
