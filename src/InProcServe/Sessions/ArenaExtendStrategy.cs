namespace InProcServe;

/// <summary>How a GPU provider's memory arena grows when a request does not fit in what it holds.</summary>
public enum ArenaExtendStrategy
{
    /// <summary>Grows by doubling: fewer, larger allocations; can reserve up to twice what the model needs.</summary>
    NextPowerOfTwo = 0,
    /// <summary>Grows by exactly the size requested: tighter memory, more allocations while the arena warms up.</summary>
    SameAsRequested = 1,
}
