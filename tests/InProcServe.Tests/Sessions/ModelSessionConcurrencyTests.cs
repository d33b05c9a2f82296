using System.Diagnostics;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>Many callers on one session, cancellation of a run in flight, and disposal while runs are in flight.</summary>
public sealed class ModelSessionConcurrencyTests
{
    private const int SlowWidth = 512;

    [Fact]
    public void Many_threads_on_one_session_each_get_the_result_for_their_own_input()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var rows = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).Chunk(30).ToArray();
        var expected = reference.Outputs[0].Data.Select(d => d.GetDouble()).ToArray();
        using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
        const int threads = 8, runsPerThread = 400;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            // Each thread runs batches of 1..3 rows, chosen so that neighbours in time differ per thread.
            var features = new float[3 * 30];
            var probability = new float[3];
            for (var run = 0; run < runsPerThread; run++)
            {
                var count = 1 + (run + thread) % 3;
                var first = (thread * 7 + run * 5) % rows.Length;
                for (var r = 0; r < count; r++)
                {
                    rows[(first + r) % rows.Length].CopyTo(features, r * 30);
                }

                using var input = TensorValue.Create(features.AsMemory(0, count * 30), [count, 30]);
                using var output = TensorValue.Create(probability.AsMemory(0, count), [count, 1]);
                session.Run([("features", input)], [("probability", output)]);
                for (var r = 0; r < count; r++)
                {
                    var want = expected[(first + r) % rows.Length];
                    if (Math.Abs(want - probability[r]) > 1e-5)
                    {
                        failures.Enqueue($"thread {thread} run {run} row {r}: expected {want}, got {probability[r]}");
                    }
                }
            }
        });

        Assert.Empty(failures);
    }

    [Fact]
    public void A_token_canceled_before_the_run_throws_without_running()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var input = TensorValue.Create(new float[30], [1, 30]);
        using var output = TensorValue.Create(new float[1] { -1 }, [1, 1]);

        Assert.Throws<OperationCanceledException>(() => session.Run([("features", input)], [("probability", output)], new CancellationToken(canceled: true)));
        Assert.Equal(-1, output.GetSpan<float>()[0]);
    }

    [Fact]
    public async Task Canceling_a_run_in_flight_terminates_it_and_leaves_other_runs_alone()
    {
        using var session = ModelSession.Load(TestModels.Path("slow"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var x = TensorValue.Create(new float[64 * SlowWidth], [64, SlowWidth]);
        // About 5 ms per iteration here: uncanceled, this run would take many minutes.
        using var endless = TensorValue.Create(new long[] { 100_000 }, []);
        using var three = TensorValue.Create(new long[] { 3 }, []);
        using var cancellation = new CancellationTokenSource();
        var started = Stopwatch.StartNew();

        var canceled = Task.Run(() => session.Run([("x", x), ("iterations", endless)], cancellation.Token));
        Thread.Sleep(300);
        Assert.False(canceled.IsCompleted, "the long run ended before it was canceled");
        // A run beside it with its own (uncancelable) options completes normally.
        using (var outputs = session.Run([("x", x), ("iterations", three)]))
        {
            Assert.Equal([64L, SlowWidth], outputs["y"].Shape.ToArray());
        }

        cancellation.Cancel();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);

        Assert.Equal(cancellation.Token, error.CancellationToken);
        Assert.Contains("Model 'slow': the run was canceled.", error.Message);
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(2), "the canceled run went on");
        using var after = session.Run([("x", x), ("iterations", three)], CancellationToken.None);
    }

    [Fact]
    public async Task Dispose_while_a_run_is_in_flight_lets_it_finish_then_refuses_new_runs()
    {
        var session = ModelSession.Load(TestModels.Path("slow"), new ModelSessionOptions { IntraOpThreads = 1 });
        using var x = TensorValue.Create(new float[256 * SlowWidth], [256, SlowWidth]);
        using var iterations = TensorValue.Create(new long[] { 60 }, []);
        using var started = new ManualResetEventSlim();

        var inFlight = Task.Run(() =>
        {
            started.Set();
            using var outputs = session.Run([("x", x), ("iterations", iterations)]);
            return outputs["y"].GetSpan<float>().ToArray();
        });
        started.Wait();
        Thread.Sleep(50);
        session.Dispose();
        var disposed = Assert.Throws<ObjectDisposedException>(() => session.Run([("x", x), ("iterations", iterations)]));

        // Zero input: every step maps 0 to tanh(0) = 0, so the finished run returns zeros.
        Assert.All(await inFlight, v => Assert.Equal(0f, v));
        Assert.Contains("Model 'slow': the session was disposed.", disposed.Message);
    }

    [Fact]
    public async Task Racing_dispose_against_many_callers_gives_each_a_result_or_ObjectDisposedException()
    {
        for (var round = 0; round < 20; round++)
        {
            var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
            using var input = TensorValue.Create(new float[30], [1, 30]);
            var outcomes = new System.Collections.Concurrent.ConcurrentBag<string>();
            using var go = new Barrier(5);
            var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                go.SignalAndWait();
                for (var i = 0; i < 200; i++)
                {
                    try
                    {
                        using var outputs = session.Run([("features", input)]);
                        outcomes.Add(outputs["probability"].Shape[0] == 1 ? "ok" : "wrong shape");
                    }
                    catch (ObjectDisposedException)
                    {
                        outcomes.Add("disposed");
                    }
                }
            })).ToArray();

            go.SignalAndWait();
            Thread.Sleep(round % 3);
            session.Dispose();
            await Task.WhenAll(callers);

            Assert.Equal(800, outcomes.Count);
            Assert.All(outcomes, o => Assert.True(o is "ok" or "disposed", o));
        }
    }

    [Fact]
    public async Task A_tensor_disposed_during_a_run_stays_alive_until_the_run_returns()
    {
        using var session = ModelSession.Load(TestModels.Path("slow"), new ModelSessionOptions { IntraOpThreads = 1 });
        var x = TensorValue.Create(Enumerable.Repeat(0.5f, 128 * SlowWidth).ToArray(), [128, SlowWidth]);
        using var iterations = TensorValue.Create(new long[] { 40 }, []);
        using var started = new ManualResetEventSlim();

        var inFlight = Task.Run(() =>
        {
            started.Set();
            using var outputs = session.Run([("x", x), ("iterations", iterations)]);
            return outputs["y"].GetSpan<float>()[0];
        });
        started.Wait();
        Thread.Sleep(20);
        x.Dispose();

        // Each step maps a constant row c to tanh(c): 40 steps from 0.5, computed here in double.
        var expected = 0.5;
        for (var i = 0; i < 40; i++) expected = Math.Tanh(expected);
        Assert.Equal(expected, await inFlight, 1e-5);
        Assert.Throws<ObjectDisposedException>(() => session.Run([("x", x), ("iterations", iterations)]));
        Assert.Throws<ObjectDisposedException>(() => x.GetSpan<float>());
    }
}
