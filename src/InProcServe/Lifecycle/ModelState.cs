namespace InProcServe;

/// <summary>Where a hosted model is in its life.</summary>
public enum ModelState
{
    /// <summary>Registered; loads when the host starts or on its first call.</summary>
    NotLoaded,

    /// <summary>Loaded, bound to its contract, warmed up and serving.</summary>
    Ready,

    /// <summary>
    /// The load failed (<see cref="HostedModel.LoadError"/> says why); calls throw. <see cref="HostedModel.ReloadAsync"/>,
    /// or a change the watch sees (<see cref="ModelOptions.WatchForChanges"/>), tries the load again.
    /// </summary>
    Failed,
}
