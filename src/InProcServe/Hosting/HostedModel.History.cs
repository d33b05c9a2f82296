namespace InProcServe;

// The model's recent history: loads, reloads, canary and shadow changes, for dashboards and support.
public abstract partial class HostedModel
{
    /// <summary>How many events <see cref="History"/> keeps: enough to see what led to now, bounded for a model reloaded every minute for months.</summary>
    internal const int HistoryCapacity = 50;

    private readonly Queue<ModelEvent> history = new();
    private readonly Lock historyGate = new();

    /// <summary>The model's latest events (at most 50), oldest first: loads, reloads and canary and shadow changes, failed ones included.</summary>
    public IReadOnlyList<ModelEvent> History
    {
        get
        {
            lock (historyGate) return [.. history];
        }
    }

    /// <summary>Adds an event, dropping the oldest beyond <see cref="HistoryCapacity"/>.</summary>
    private protected void Remember(ModelEventKind kind, long? version, string detail)
    {
        var entry = new ModelEvent(DateTimeOffset.UtcNow, kind, version, detail);
        lock (historyGate)
        {
            if (history.Count == HistoryCapacity) history.Dequeue();
            history.Enqueue(entry);
        }
    }
}
