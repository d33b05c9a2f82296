namespace InProcServe;

/// <summary>What happened to a hosted model's versions (<see cref="HostedModel.History"/>).</summary>
public enum ModelEventKind
{
    /// <summary>The model loaded (at start, on its first call, or revived by a reload) and serves.</summary>
    Loaded,

    /// <summary>The model failed to load; it doesn't serve.</summary>
    LoadFailed,

    /// <summary>A reload swapped in the versions the model's source holds now.</summary>
    Reloaded,

    /// <summary>A reload failed; the versions that served before go on serving.</summary>
    ReloadFailed,

    /// <summary>A canary was set, or its share changed.</summary>
    CanarySet,

    /// <summary>The canary became the primary.</summary>
    CanaryPromoted,

    /// <summary>The canary was dropped.</summary>
    CanaryRolledBack,

    /// <summary>A shadow was set, or its share changed.</summary>
    ShadowSet,

    /// <summary>The shadow stopped (by a call, or because a reload left its version out or made it the primary).</summary>
    ShadowStopped,
}

/// <summary>One event in a hosted model's life.</summary>
/// <param name="Time">When it happened.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Version">The primary version after it; null when no version serves.</param>
/// <param name="Detail">The versions and shares involved, or why a load failed.</param>
public sealed record ModelEvent(DateTimeOffset Time, ModelEventKind Kind, long? Version, string Detail);
