namespace InProcServe;

/// <summary>
/// One loaded version of a hosted model: its session (for a remote model, the server's model) and what serves calls on it. Calls lease it for as long as
/// they use it; the routing that publishes it holds one lease of its own. Retiring drops that lease, and once the
/// calls that still hold one have finished, what serves calls on it (Pipeline/) and its session are released: a swap
/// never fails a call that already started on the old version.
/// </summary>
internal abstract class ServingVersion
{
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Leases: the routing's own plus one per call in flight. 0 means retired and drained; it never rises again.</summary>
    private int leases = 1;

    private protected ServingVersion(long version, IBatchTarget target)
    {
        Version = version;
        Target = target;
        Tag = new(InProcServeMetrics.VersionTag, version);
    }

    /// <summary>The version's number: its folder's number, or the model's own version (<see cref="ModelMetadata.Version"/>) for a file or bytes.</summary>
    internal long Version { get; }

    /// <summary>What the version's batches run on: its <see cref="ModelSession"/>, or a remote model.</summary>
    internal IBatchTarget Target { get; }

    /// <summary>The version's session; null for a remote model, which has none here.</summary>
    internal ModelSession? Session => Target as ModelSession;

    /// <summary>The version tag of this version's measurements, boxed once.</summary>
    internal KeyValuePair<string, object?> Tag { get; }

    /// <summary>The most calls its queue holds (<see cref="BatchingOptions.QueueCapacity"/>).</summary>
    internal abstract int QueueCapacity { get; }

    /// <summary>Calls queued on it now.</summary>
    internal abstract int QueueLength { get; }

    /// <summary>The most requests one batch takes.</summary>
    internal abstract int MaxBatchSize { get; }

    /// <summary>What prediction monitoring sampled of this version; null when the model isn't monitored.</summary>
    internal abstract VersionMonitor? Monitor { get; }

    /// <summary>Takes a lease for one call; false once the version is retired and drained, when the caller picks again from the current routing.</summary>
    internal bool TryAcquire()
    {
        var count = Volatile.Read(ref leases);
        while (count > 0)
        {
            var seen = Interlocked.CompareExchange(ref leases, count + 1, count);
            if (seen == count) return true;
            count = seen;
        }

        return false;
    }

    /// <summary>Returns a lease; the last one lets a retiring version be released.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref leases) == 0) drained.TrySetResult();
    }

    /// <summary>
    /// Drops the routing's lease, waits for the calls still on this version, then releases it. Call once, after the
    /// version left the routing, so no new call can find it.
    /// </summary>
    /// <param name="stopQueue">
    /// Stop the queue first, failing queued calls with <see cref="ObjectDisposedException"/> (the host is stopping);
    /// false lets them run (a swap).
    /// </param>
    internal async Task RetireAsync(bool stopQueue)
    {
        if (stopQueue) await StopQueueAsync().ConfigureAwait(false);
        Release();
        await drained.Task.ConfigureAwait(false);
        await StopQueueAsync().ConfigureAwait(false);
        DisposeRunner();
        // The session, or a remote model's connections.
        (Target as IDisposable)?.Dispose();
    }

    /// <summary>Stops its queues: queued calls fail, running batches finish. Safe to call twice.</summary>
    private protected abstract ValueTask StopQueueAsync();

    /// <summary>Releases what serves calls on it, once no call holds a lease; the session is released after.</summary>
    private protected abstract void DisposeRunner();
}
