using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Polly.CircuitBreaker;

namespace InProcServe.Tests.Remote;

/// <summary>How a remote model's call picks a replica, tries once more elsewhere, and keeps away from a failing one.</summary>
public sealed class RemoteReplicasTests
{
    private static readonly Uri A = new("http://a:8000/");
    private static readonly Uri B = new("http://b:8000/");

    [Fact]
    public async Task A_call_that_fails_on_the_way_is_tried_once_more_on_the_other_replica()
    {
        var replicas = new RemoteReplicas("fraud", [A, B], TimeSpan.FromSeconds(30), NullLogger.Instance);
        var tried = new List<Uri>();

        var answer = await replicas.ExecuteAsync(
            (replica, _, _) =>
            {
                tried.Add(replica.Url);
                return tried.Count == 1 ? throw new HttpRequestException("connection refused") : ValueTask.FromResult(replica.Url);
            },
            0,
            CancellationToken.None);

        Assert.Equal(2, tried.Count);
        Assert.NotEqual(tried[0], tried[1]);
        Assert.Equal(tried[1], answer);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task A_client_error_is_not_tried_again(HttpStatusCode status)
    {
        var replicas = new RemoteReplicas("fraud", [A, B], TimeSpan.FromSeconds(30), NullLogger.Instance);
        var tries = 0;

        var error = await Assert.ThrowsAsync<HttpRequestException>(async () => await replicas.ExecuteAsync<int, int>(
            (_, _, _) =>
            {
                tries++;
                throw new HttpRequestException("bad input", null, status);
            },
            0,
            CancellationToken.None));

        Assert.Equal(1, tries);
        Assert.Equal(status, error.StatusCode);
    }

    [Fact]
    public async Task A_call_that_fails_twice_throws_the_second_failure()
    {
        var replicas = new RemoteReplicas("fraud", [A, B], TimeSpan.FromSeconds(30), NullLogger.Instance);
        var tries = 0;

        var error = await Assert.ThrowsAsync<HttpRequestException>(async () => await replicas.ExecuteAsync<int, int>(
            (replica, _, _) => throw new HttpRequestException($"try {++tries} on {replica.Url}", null, HttpStatusCode.ServiceUnavailable),
            0,
            CancellationToken.None));

        Assert.Equal(2, tries);
        Assert.StartsWith("try 2", error.Message);
    }

    [Fact]
    public async Task A_replica_that_keeps_failing_is_left_alone_and_calls_go_to_the_other()
    {
        var replicas = new RemoteReplicas("fraud", [A, B], TimeSpan.FromSeconds(30), NullLogger.Instance);
        var triesOnA = 0;

        for (var call = 0; call < 20; call++)
        {
            var answer = await replicas.ExecuteAsync(
                (replica, _, _) => replica.Url == A ? throw new HttpRequestException($"refused {++triesOnA}") : ValueTask.FromResult(replica.Url),
                0,
                CancellationToken.None);
            Assert.Equal(B, answer);
        }

        // The breaker opens once A failed 4 calls in its window (half of at least 4); from then on no call tries A first,
        // but for a trial call should the loop take longer than the break (5 s). Without a breaker A would get 10 tries.
        Assert.InRange(triesOnA, 4, 5);
        Assert.NotEqual(CircuitState.Closed, replicas.All[0].Breaker.CircuitState);
        Assert.Equal(CircuitState.Closed, replicas.All[1].Breaker.CircuitState);
    }

    [Fact]
    public async Task Each_call_goes_to_the_replica_with_the_fewest_calls_in_flight()
    {
        var replicas = new RemoteReplicas("fraud", [A, B], TimeSpan.FromSeconds(30), NullLogger.Instance);
        var held = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = new TaskCompletionSource<Uri>();

        // The first call stays in flight on whichever replica it got; the next three must all go to the other one.
        var pending = replicas.ExecuteAsync(
            async (replica, _, _) =>
            {
                first.SetResult(replica.Url);
                return await held.Task;
            },
            0,
            CancellationToken.None);
        var busy = await first.Task;
        for (var call = 0; call < 3; call++)
        {
            var answer = await replicas.ExecuteAsync((replica, _, _) => ValueTask.FromResult(replica.Url), 0, CancellationToken.None);
            Assert.NotEqual(busy, answer);
        }

        held.SetResult(busy);
        Assert.Equal(busy, await pending);
    }
}
