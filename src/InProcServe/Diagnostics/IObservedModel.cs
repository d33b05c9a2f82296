namespace InProcServe;

/// <summary>What the metrics read of a model they observe: its queue, its primary version, its monitoring report.</summary>
internal interface IObservedModel
{
    KeyValuePair<string, object?> ModelTag { get; }

    /// <summary>The primary version's tag.</summary>
    KeyValuePair<string, object?> VersionTag { get; }

    /// <summary>Whether the model serves now; the metrics skip it otherwise.</summary>
    bool IsReady { get; }

    /// <summary>Calls queued now, on every version that takes calls.</summary>
    int QueueLength { get; }

    /// <summary>What prediction monitoring saw; null when the model isn't monitored or not ready.</summary>
    MonitoringReport? GetMonitoringReport();
}
