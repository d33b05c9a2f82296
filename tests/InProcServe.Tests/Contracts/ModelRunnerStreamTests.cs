using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Contracts;

/// <summary>
/// <see cref="ModelRunner{TInput, TOutput}.PredictAsync(IAsyncEnumerable{TInput}, CancellationToken)"/>: a stream of
/// inputs cut into batches with no queue, over the generated fraud contract.
/// </summary>
public sealed class ModelRunnerStreamTests
{
    private const double Tolerance = 1e-5;

    [Fact]
    public async Task Outputs_come_in_input_order_and_match_the_numpy_reference_and_the_direct_path()
    {
        var (rows, expected) = FraudReference();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session, maxBatchSize: 5);
        // 16 reference rows, three times over: full batches of 5 and a last one of 3.
        var inputs = Enumerable.Range(0, 3).SelectMany(_ => rows).ToArray();
        var source = new Source(inputs);

        var outputs = new List<FraudScore>();
        await foreach (var output in runner.PredictAsync(source))
        {
            outputs.Add(output);
        }

        Assert.Equal(inputs.Length, outputs.Count);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(expected[i % rows.Length], outputs[i].Probability, Tolerance);
            Assert.Equal(runner.Predict(inputs[i]).Probability, outputs[i].Probability, Tolerance);
        }

        Assert.Equal(0, source.Overlaps);
        Assert.True(source.Disposed);
    }

    [Fact]
    public async Task A_slow_producer_gets_each_result_before_it_produces_the_next_input()
    {
        var (rows, expected) = FraudReference();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session, maxBatchSize: 64);
        var received = Enumerable.Range(0, rows.Length).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        // Input i + 1 is produced only once the consumer holds output i: a stream that waited to fill its batch of 64
        // would never get there (the wait gives up after 30 s, failing the test instead of hanging it).
        var source = new Source(rows, async (index, token) =>
        {
            await Task.Delay(1, token);
            if (index > 0) await received[index - 1].Task.WaitAsync(TimeSpan.FromSeconds(30), token);
        });

        var count = 0;
        await foreach (var output in runner.PredictAsync(source))
        {
            Assert.Equal(expected[count], output.Probability, Tolerance);
            received[count++].SetResult();
        }

        Assert.Equal(rows.Length, count);
        Assert.Equal(0, source.Overlaps);
    }

    [Fact]
    public async Task An_empty_source_gives_no_outputs_and_is_disposed()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session);
        var source = new Source([]);

        var outputs = new List<FraudScore>();
        await foreach (var output in runner.PredictAsync(source)) outputs.Add(output);

        Assert.Empty(outputs);
        Assert.True(source.Disposed);
    }

    [Fact]
    public async Task Canceling_stops_the_stream_and_the_source()
    {
        var (rows, _) = FraudReference();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session, maxBatchSize: 4);
        using var cancellation = new CancellationTokenSource();
        // After its fourth input the source waits until it is told to stop.
        var source = new Source(rows, (index, token) => index < 4 ? Task.CompletedTask : Task.Delay(Timeout.Infinite, token));

        var outputs = new List<FraudScore>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var output in runner.PredictAsync(source).WithCancellation(cancellation.Token))
            {
                outputs.Add(output);
                if (outputs.Count == 4) await cancellation.CancelAsync();
            }
        });

        Assert.Equal(4, outputs.Count);
        Assert.True(source.Token.IsCancellationRequested);
        Assert.True(source.Disposed);
        Assert.False(source.PendingWhenDisposed);
        Assert.Equal(0, source.Overlaps);
    }

    [Fact]
    public async Task Leaving_early_asks_a_waiting_source_to_stop_and_awaits_it_before_disposing_it()
    {
        var (rows, expected) = FraudReference();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session, maxBatchSize: 8);
        var source = new Source(rows, (index, token) => index < 2 ? Task.CompletedTask : Task.Delay(Timeout.Infinite, token));

        await foreach (var output in runner.PredictAsync(source))
        {
            Assert.Equal(expected[0], output.Probability, Tolerance);
            break;
        }

        Assert.True(source.Token.IsCancellationRequested);
        Assert.True(source.Disposed);
        Assert.False(source.PendingWhenDisposed);
    }

    [Fact]
    public async Task A_row_of_the_wrong_length_fails_the_stream_after_the_earlier_batches()
    {
        var (rows, expected) = FraudReference();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session, maxBatchSize: 4);
        var inputs = rows.Take(8).Select((row, i) => i == 5 ? new FraudFeatures(new float[29]) : row).ToArray();
        var source = new Source(inputs);

        var outputs = new List<FraudScore>();
        var error = await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var output in runner.PredictAsync(source)) outputs.Add(output);
        });

        Assert.Equal("FraudFeatures.Features in row 1 has 29 elements; the model contract declares 30.", error.Message);
        Assert.Equal(expected.Take(4), outputs.Select(o => (double)o.Probability), new ToleranceComparer(Tolerance));
        Assert.True(source.Disposed);
    }

    [Fact]
    public async Task A_disposed_runner_fails_the_stream()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        var runner = ModelRunner.Create<FraudFeatures, FraudScore>(session);
        runner.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () =>
        {
            await foreach (var _ in runner.PredictAsync(new Source([new FraudFeatures(new float[30])]))) { }
        });
        Assert.Throws<ArgumentNullException>(() => runner.PredictAsync(null!));
    }

    private static (FraudFeatures[] Rows, double[] Expected) FraudReference()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(30).Select(r => new FraudFeatures(r)).ToArray();
        return (rows, reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray());
    }

    /// <summary>
    /// A source that records how it is driven: a call to MoveNextAsync while the previous one is still running
    /// (<see cref="Overlaps"/>), its disposal, and whether a MoveNextAsync was still running when it was disposed.
    /// <c>before(i, token)</c> runs before input i is produced (and before the end is reported, with i = the count).
    /// </summary>
    private sealed class Source(IReadOnlyList<FraudFeatures> items, Func<int, CancellationToken, Task>? before = null) : IAsyncEnumerable<FraudFeatures>
    {
        private readonly IReadOnlyList<FraudFeatures> items = items;
        private readonly Func<int, CancellationToken, Task>? before = before;
        public int Overlaps;
        public bool Disposed;
        public bool PendingWhenDisposed;
        public CancellationToken Token;

        public IAsyncEnumerator<FraudFeatures> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            Token = cancellationToken;
            return new Enumerator(this, cancellationToken);
        }

        private sealed class Enumerator(Source source, CancellationToken token) : IAsyncEnumerator<FraudFeatures>
        {
            private int index = -1;
            private int running;

            public FraudFeatures Current => source.items[index];

            public ValueTask<bool> MoveNextAsync()
            {
                if (Interlocked.Exchange(ref running, 1) == 1) Interlocked.Increment(ref source.Overlaps);
                return new ValueTask<bool>(Next());
            }

            public ValueTask DisposeAsync()
            {
                source.PendingWhenDisposed = Volatile.Read(ref running) == 1;
                source.Disposed = true;
                return ValueTask.CompletedTask;
            }

            private async Task<bool> Next()
            {
                try
                {
                    var next = index + 1;
                    if (source.before is { } wait && next <= source.items.Count) await wait(next, token);
                    index = Math.Min(next, source.items.Count);
                    return index < source.items.Count;
                }
                finally
                {
                    Volatile.Write(ref running, 0);
                }
            }
        }
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double value) => 0;
    }
}
