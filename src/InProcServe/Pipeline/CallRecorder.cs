using System.Diagnostics;

namespace InProcServe;

/// <summary>
/// How a model's calls are measured: one activity per call when someone traces, and the call's duration and outcome
/// in <c>inprocserve.request.duration</c> and <c>inprocserve.requests</c>, tagged with the version that answered.
/// </summary>
internal sealed class CallRecorder(string model, InProcServeMetrics metrics, ModelVersions versions)
{
    internal const string Direct = "direct";
    internal const string Queued = "queued";
    internal const string Bulk = "bulk";

    private readonly string activityName = $"predict {model}";
    private readonly KeyValuePair<string, object?> modelTag = new(InProcServeMetrics.ModelTag, model);

    /// <summary>
    /// When a call starts (<see cref="Stopwatch"/> timestamp), read only when its duration is measured; 0 otherwise. The
    /// clock costs tens of nanoseconds a read on a VM, a few percent of a queued call's whole cost.
    /// </summary>
    internal long Timestamp() => metrics.RequestDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Starts a call's activity when someone listens.</summary>
    internal Activity? StartActivity(string mode)
    {
        var activity = InProcServeMetrics.ActivitySource.StartActivity(activityName);
        if (activity is not null)
        {
            activity.SetTag(modelTag.Key, modelTag.Value);
            activity.SetTag(versions.PrimaryTag.Key, versions.PrimaryTag.Value);
            activity.SetTag(InProcServeMetrics.ModeTag, mode);
        }

        return activity;
    }

    /// <summary>
    /// Records <paramref name="count"/> finished calls: their outcome, their duration, the version that answered them
    /// (<paramref name="served"/>; the primary when none did), and the activity's status.
    /// </summary>
    internal void Record(long started, string mode, Exception? error, Activity? activity, ServingVersion? served, int count = 1)
    {
        // Nobody listens (no exporter, no MeterListener, no trace): nothing to compute per call.
        if (activity is null && !metrics.RequestDuration.Enabled && !metrics.Requests.Enabled) return;
        var outcome = error switch
        {
            null => "ok",
            QueueFullException => "rejected",
            TimeoutException => "timeout",
            OperationCanceledException => "canceled",
            _ => "error",
        };
        var versionTag = served?.Tag ?? versions.PrimaryTag;
        var tags = new TagList { modelTag, versionTag, { InProcServeMetrics.ModeTag, mode }, { InProcServeMetrics.OutcomeTag, outcome } };
        // A call that started before anyone measured durations has no start time (0): it is counted, not timed.
        if (started != 0) metrics.RequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        metrics.Requests.Add(count, tags);
        if (activity is not null)
        {
            activity.SetTag(versionTag.Key, versionTag.Value);
            activity.SetTag(InProcServeMetrics.OutcomeTag, outcome);
            if (error is not null) activity.SetStatus(ActivityStatusCode.Error, error.Message);
        }
    }
}
