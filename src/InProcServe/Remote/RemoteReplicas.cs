using System.Net;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace InProcServe;

/// <summary>One server of a remote model: its address, the calls in flight to it, and its circuit breaker.</summary>
internal sealed class RemoteReplica
{
    /// <summary>Calls in flight to this replica, for least-outstanding balancing.</summary>
    private int outstanding;

    internal RemoteReplica(Uri url, ResiliencePipeline pipeline, CircuitBreakerStateProvider breaker)
    {
        Url = url;
        Pipeline = pipeline;
        Breaker = breaker;
    }

    /// <summary>The server's root address, ending in '/'.</summary>
    internal Uri Url { get; }

    /// <summary>The breaker and the per-try timeout every call to this replica goes through.</summary>
    internal ResiliencePipeline Pipeline { get; }

    internal CircuitBreakerStateProvider Breaker { get; }

    internal int Outstanding => Volatile.Read(ref outstanding);

    /// <summary>Whether the breaker lets calls through (closed, or half-open for a trial call).</summary>
    internal bool Available => Breaker.CircuitState is CircuitState.Closed or CircuitState.HalfOpen;

    internal void Enter() => Interlocked.Increment(ref outstanding);

    internal void Leave() => Interlocked.Decrement(ref outstanding);
}

/// <summary>
/// The replicas of a remote model and how a call picks one: the available replica (breaker not open) with the fewest calls
/// in flight; a call that fails on the way is tried once more on another replica (Polly retry), and a replica whose calls
/// keep failing is left alone for <see cref="BreakDuration"/> (a Polly circuit breaker per replica).
/// </summary>
/// <remarks>
/// Every call here is idempotent (metadata, readiness, and inference on a stateless model), so a retry can't apply a call
/// twice. What counts as failed on the way: no connection or a broken one (<see cref="HttpRequestException"/> without a
/// status), a 5xx or 429 answer, and a try past its timeout. A 4xx answer says the request is wrong and is not retried.
/// </remarks>
internal sealed class RemoteReplicas
{
    /// <summary>How long an open breaker keeps calls away from its replica before a trial call. Polly's lowest is 0.5 s.</summary>
    internal static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(5);

    /// <summary>The window whose failure ratio opens a breaker.</summary>
    private static readonly TimeSpan SamplingDuration = TimeSpan.FromSeconds(10);

    private readonly RemoteReplica[] replicas;
    private readonly ResiliencePipeline retry;
    private readonly string model;
    private readonly TimeSpan timeout;

    /// <summary>Where the next tie between equally loaded replicas starts, so ties spread over them.</summary>
    private int next;

    internal RemoteReplicas(string model, IEnumerable<Uri> urls, TimeSpan timeout, ILogger logger)
    {
        this.model = model;
        this.timeout = timeout;
        replicas = urls.Select(url => CreateReplica(model, WithSlash(url), timeout, logger)).ToArray();
        retry = new ResiliencePipelineBuilder
        {
            Name = $"InProcServe.Remote.{model}",
        }.AddRetry(new RetryStrategyOptions
        {
            // One more try: on another replica, or on the only one (a dropped connection is worth one more).
            MaxRetryAttempts = 1,
            Delay = TimeSpan.Zero,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } error && IsTransient(error)),
            OnRetry = args =>
            {
                Log.RemoteCallRetried(logger, model, args.Outcome.Exception!.Message);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    /// <summary>The replicas, in the order of the options' URLs.</summary>
    internal IReadOnlyList<RemoteReplica> All => replicas;

    /// <summary>
    /// Runs <paramref name="call"/> on the least loaded available replica; if it fails on the way, once more on another
    /// (the same one when there is only one).
    /// </summary>
    /// <exception cref="HttpRequestException">The call failed on every try; the message names the replica and the cause.</exception>
    /// <exception cref="TimeoutException">The last try took longer than its timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    internal async ValueTask<T> ExecuteAsync<T, TState>(Func<RemoteReplica, TState, CancellationToken, ValueTask<T>> call, TState state, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        var attempt = new Attempt<T, TState>(this, call, state);
        try
        {
            return await retry.ExecuteAsync(static (context, attempt) => attempt.RunAsync(context.CancellationToken), context, attempt).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException error)
        {
            throw new TimeoutException($"Model '{model}': the call to {attempt.Last?.Url} took longer than its timeout of {timeout.TotalMilliseconds:0} ms (Remote:Timeout), on every try.", error);
        }
        catch (BrokenCircuitException error)
        {
            throw new HttpRequestException(
                $"Model '{model}': every replica ({string.Join(", ", replicas.Select(r => r.Url))}) failed its recent calls, so calls are held back for {BreakDuration.TotalSeconds:0} s before a trial; the last failure: {error.InnerException?.Message ?? error.Message}",
                error,
                HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Whether <paramref name="error"/> is a failure on the way, worth a try on another replica.</summary>
    internal static bool IsTransient(Exception error) => error switch
    {
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } status } => (int)status >= 500 || status == HttpStatusCode.TooManyRequests,
        TimeoutRejectedException or BrokenCircuitException => true,
        _ => false,
    };

    /// <summary>The replica for a try: available ones first, fewest calls in flight, the one tried last only when no other will do.</summary>
    private RemoteReplica Pick(RemoteReplica? tried)
    {
        if (replicas.Length == 1) return replicas[0];
        var start = (int)((uint)Interlocked.Increment(ref next) % (uint)replicas.Length);
        RemoteReplica? best = null;
        var bestRank = int.MaxValue;
        for (var i = 0; i < replicas.Length; i++)
        {
            var replica = replicas[(start + i) % replicas.Length];
            // Rank: an unavailable replica or the one that just failed only when nothing else is left.
            var rank = replica.Outstanding + (replica.Available ? 0 : 1 << 20) + (replica == tried ? 1 << 21 : 0);
            if (rank < bestRank)
            {
                best = replica;
                bestRank = rank;
            }
        }

        return best!;
    }

    private static Uri WithSlash(Uri url) => url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");

    private static RemoteReplica CreateReplica(string model, Uri url, TimeSpan timeout, ILogger logger)
    {
        var breaker = new CircuitBreakerStateProvider();
        var pipeline = new ResiliencePipelineBuilder { Name = $"InProcServe.Remote.{model}", InstanceName = url.AbsoluteUri }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = SamplingDuration,
                BreakDuration = BreakDuration,
                StateProvider = breaker,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } error && IsTransient(error)),
                OnOpened = args =>
                {
                    Log.RemoteReplicaOpened(logger, model, url.AbsoluteUri, args.BreakDuration.TotalSeconds, args.Outcome.Exception);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    Log.RemoteReplicaClosed(logger, model, url.AbsoluteUri);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(timeout)
            .Build();
        return new RemoteReplica(url, pipeline, breaker);
    }

    /// <summary>One call across its tries: remembers the replica tried last, so a retry goes elsewhere.</summary>
    private sealed class Attempt<T, TState>(RemoteReplicas owner, Func<RemoteReplica, TState, CancellationToken, ValueTask<T>> call, TState state)
    {
        internal RemoteReplica? Last { get; private set; }

        internal async ValueTask<T> RunAsync(CancellationToken cancellationToken)
        {
            var replica = owner.Pick(Last);
            Last = replica;
            replica.Enter();
            try
            {
                return await replica.Pipeline.ExecuteAsync(
                    static (s, token) => s.call(s.replica, s.state, token),
                    (call, replica, state),
                    cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                replica.Leave();
            }
        }
    }
}
