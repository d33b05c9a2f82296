namespace InProcServe;

// The shadow: a version that gets copies of a share of calls, off the callers' path, and answers none of them.
public abstract partial class HostedModel
{
    /// <summary>The shadow's version; null without a shadow (<see cref="SetShadowAsync"/>).</summary>
    public long? ShadowVersion => routing?.Shadow?.Version.Version;

    /// <summary>The share of calls copied to the shadow, in percent; 0 without a shadow.</summary>
    public double ShadowPercent => routing?.Shadow?.Percent ?? 0;

    /// <summary>
    /// Sends a copy of <paramref name="percent"/> of calls to version <paramref name="version"/>, the shadow, to try it
    /// on real traffic: callers get their answers from the primary (or the canary) as before, and never wait for the
    /// copy. A call picked at random is copied once its version answered it; the copy goes through the shadow's own
    /// queue, in batches on the model's lane, and once the shadow answered, the comparison set with <c>CompareShadow</c>
    /// on the builder, if any, sees both responses. The version may be loaded already (<see cref="VersionPolicy.LatestN"/>)
    /// or is loaded now from <see cref="ModelOptions.Folder"/>; a shadow already set is replaced, and released once its
    /// copies finished. Calling again with the same version changes its share. A reload keeps the shadow while its
    /// version is still loaded and not the primary.
    /// </summary>
    /// <remarks>
    /// <para>Direct and queued calls are copied (with middleware, only those that reach the model: a cache hit is not);
    /// bulk calls, whose batches would flood the shadow's queue, and calls that failed are not.</para>
    /// <para>At most <see cref="BatchingOptions.QueueCapacity"/> copies are in flight at once: a call that finds that
    /// many is not copied, so the shadow's queue never fills and never holds a caller up. Copies are counted in
    /// <c>inprocserve.shadow.requests</c> by outcome (ok, error, or dropped: too many in flight, or the model stopped);
    /// a copy that fails is logged, and its caller never sees it. Copies take turns with the model's batches on its
    /// lane's workers: on a busy lane, keep the share small. Queued copies are not counted in <see cref="QueueLength"/>.</para>
    /// <para>The copy reads the model input after the call returned: a model without a pre-processor, whose input is
    /// the caller's request, must not have its request's arrays refilled by the caller once the call is done.</para>
    /// </remarks>
    /// <param name="version">The shadow's version number.</param>
    /// <param name="percent">The share of calls copied to it, from 0 to 100.</param>
    /// <param name="cancellationToken">Cancels loading the version.</param>
    /// <returns>A task that completes once the shadow gets copies, and a shadow it replaced is released.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is not from 0 to 100.</exception>
    /// <exception cref="ArgumentException"><paramref name="version"/> is the primary or the canary: they answer calls.</exception>
    /// <exception cref="InvalidOperationException">The version is not loaded and the model has no version folder that holds it, or it failed to load.</exception>
    /// <exception cref="ObjectDisposedException">The model stopped with its host.</exception>
    public async Task SetShadowAsync(long version, double percent, CancellationToken cancellationToken = default)
    {
        if (percent is not (>= 0 and <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "The shadow's share is a percentage from 0 to 100.");
        EnsureLoaded();
        await reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = routing ?? throw Stopped();
            var answering = current.Primary.Version == version ? "primary" : current.Canary?.Version == version ? "canary" : null;
            if (answering is not null)
            {
                throw new ArgumentException($"Model '{Name}': version {version} is the {answering}, which answers calls; a shadow is another version, which gets copies of them. Loaded: {string.Join(", ", current.Loaded.Select(v => v.Version))}.", nameof(version));
            }

            var shadow = FindOrLoad(current, version, "send shadow copies to", cancellationToken, out var loadedNow);
            var loaded = current.Loaded.Where(v => v == shadow || v != current.Shadow?.Version).ToList();
            if (loadedNow) loaded.Add(shadow);
            await SwapAsync(current, current with { Loaded = [.. loaded.OrderByDescending(v => v.Version)], Shadow = new ShadowTraffic(shadow, percent) }).ConfigureAwait(false);
            Log.ShadowSet(Host.Logger, Name, version, percent, current.Primary.Version);
            Remember(ModelEventKind.ShadowSet, current.Primary.Version, $"version {version} gets a copy of {percent}% of calls");
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>
    /// Stops copying calls to the shadow: no call is copied once this returns. The shadow's version is released, as a
    /// canary rolled back is. Does nothing when there is no shadow.
    /// </summary>
    /// <returns>A task that completes once the copies in flight finished, their comparisons included, and the version was released.</returns>
    public async Task StopShadowAsync()
    {
        await reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (routing is not { Shadow: { } shadow } current) return;
            await SwapAsync(current, current with { Loaded = [.. current.Loaded.Where(v => v != shadow.Version)], Shadow = null }).ConfigureAwait(false);
            Log.ShadowStopped(Host.Logger, Name, shadow.Version.Version);
            Remember(ModelEventKind.ShadowStopped, current.Primary.Version, $"shadow version {shadow.Version.Version} stopped");
        }
        finally
        {
            reloadGate.Release();
        }
    }

    /// <summary>
    /// The shadow that gets a copy of the call just answered, with a place taken for the copy and a lease on its
    /// version; null when there is no shadow, the call isn't picked, or the copy is dropped (and counted).
    /// </summary>
    private protected ShadowTraffic? StartShadowCopy()
    {
        if (routing?.Shadow is not { } shadow || !shadow.Sample()) return null;
        if (shadow.TryStart(out var full)) return shadow;
        if (full) RecordShadow(shadow, "dropped");
        return null;
    }

    /// <summary>Counts one copy sent to <paramref name="shadow"/>, by <paramref name="outcome"/>: ok, error or dropped.</summary>
    private protected void RecordShadow(ShadowTraffic shadow, string outcome) =>
        Host.Metrics.ShadowRequests.Add(1, ModelTag, shadow.Version.Tag, new(InProcServeMetrics.OutcomeTag, outcome));

    /// <summary>
    /// The routing of the versions loaded at start-up with the shadow <see cref="ModelOptions.Shadow"/> names, if any.
    /// Validation checked the version against the folder; this catches a folder that changed since.
    /// </summary>
    /// <exception cref="InvalidOperationException">The shadow's version is not loaded, or answers calls (the primary, the canary).</exception>
    private static VersionRouting WithStartShadow(VersionRouting loaded, ModelOptions options)
    {
        if (options.Shadow.Version is not { } version) return loaded;
        var shadow = loaded.Find(version);
        if (shadow is null || shadow == loaded.Primary || shadow == loaded.Canary)
        {
            throw new InvalidOperationException(
                $"its shadow (Shadow.Version) is version {version}, but the policy '{options.Versions}' loaded {string.Join(", ", loaded.Loaded.Select(v => v.Version))}, with {loaded.Primary.Version} as the primary" +
                (loaded.Canary is { } canary ? $" and {canary.Version} as the canary" : "") +
                ": set a version the policy loads below the primary, other than the canary, or a policy (Versions) that loads it as well.");
        }

        return loaded with { Shadow = new ShadowTraffic(shadow, options.Shadow.Percent!.Value) };
    }
}
