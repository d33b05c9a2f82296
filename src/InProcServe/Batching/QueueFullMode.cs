namespace InProcServe;

/// <summary>What a queued call does when its model's queue holds <see cref="BatchingOptions.QueueCapacity"/> requests.</summary>
public enum QueueFullMode
{
    /// <summary>Wait for a slot (the call's token and deadline still apply): back-pressure for workers and bulk producers.</summary>
    Wait,

    /// <summary>Fail at once with <see cref="QueueFullException"/>: for web apps, which answer 429 or 503 instead of piling up.</summary>
    Reject,
}
