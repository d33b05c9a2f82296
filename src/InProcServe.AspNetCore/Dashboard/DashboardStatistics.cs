using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace InProcServe.AspNetCore;

/// <summary>
/// What the dashboard shows beyond the models' own state: calls by outcome and version, recent latencies, batch sizes
/// and shadow agreement, gathered by listening to the app's <c>InProcServe</c> meter, as an exporter would. It starts
/// when the dashboard is mapped, so an app without a dashboard pays nothing for it.
/// </summary>
internal sealed class DashboardStatistics : IDisposable
{
    /// <summary>The batch-size buckets' upper bounds: the batch-size histogram's own boundaries.</summary>
    internal static readonly int[] BatchBounds = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private const string Requests = "inprocserve.requests";
    private const string Duration = "inprocserve.request.duration";
    private const string BatchSize = "inprocserve.batch.size";
    private const string ShadowRequests = "inprocserve.shadow.requests";
    private const string ShadowDisagreements = "inprocserve.shadow.disagreements";

    private readonly MeterListener listener = new();
    private readonly ConcurrentDictionary<string, ModelStatistics> models = new(StringComparer.Ordinal);
    private readonly int latencyWindow;

    /// <param name="meterFactory">The app's meter factory: only meters it made are listened to, not those of other hosts in the process.</param>
    /// <param name="latencyWindow">How many latest durations each model keeps.</param>
    internal DashboardStatistics(IMeterFactory meterFactory, int latencyWindow)
    {
        this.latencyWindow = latencyWindow;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "InProcServe" && ReferenceEquals(instrument.Meter.Scope, meterFactory) && instrument.Name is Requests or Duration or BatchSize or ShadowRequests or ShadowDisagreements)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>(OnLong);
        listener.SetMeasurementEventCallback<double>(OnDouble);
        listener.SetMeasurementEventCallback<int>(OnInt);
        listener.Start();
    }

    /// <summary>The figures of the model named <paramref name="model"/>; empty until it was called.</summary>
    internal ModelStatistics For(string model) => models.GetOrAdd(model, _ => new ModelStatistics(latencyWindow));

    public void Dispose() => listener.Dispose();

    private void OnLong(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (Tag(tags, "inprocserve.model.name") is not string name) return;
        var statistics = For(name);
        switch (instrument.Name)
        {
            case Requests:
                statistics.CountCall(Tag(tags, "inprocserve.outcome") as string ?? "ok", Tag(tags, "inprocserve.model.version") as long?, value);
                break;
            case ShadowRequests:
                statistics.CountShadow(Tag(tags, "inprocserve.outcome") as string ?? "ok", value);
                break;
            case ShadowDisagreements:
                Interlocked.Add(ref statistics.ShadowDisagreements, value);
                break;
        }
    }

    private void OnDouble(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (Tag(tags, "inprocserve.model.name") is string name) For(name).AddDuration(value);
    }

    private void OnInt(Instrument instrument, int value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (Tag(tags, "inprocserve.model.name") is string name) For(name).AddBatch(value);
    }

    private static object? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key) return tag.Value;
        }

        return null;
    }
}

/// <summary>One model's figures, written by the meter's callbacks on callers' threads and read by the dashboard's requests.</summary>
internal sealed class ModelStatistics(int latencyWindow)
{
    /// <summary>Guards the durations, the outcome and version counts, and the shadow outcomes.</summary>
    private readonly Lock gate = new();

    /// <summary>The latest call durations, in seconds: a ring, <see cref="recorded"/> long so far.</summary>
    private readonly double[] durations = new double[latencyWindow];

    /// <summary>Batches per size bucket (<see cref="DashboardStatistics.BatchBounds"/>, then one for larger ones), added to atomically.</summary>
    private readonly long[] batches = new long[DashboardStatistics.BatchBounds.Length + 1];

    /// <summary>Calls by outcome.</summary>
    private readonly Dictionary<string, long> outcomes = new(StringComparer.Ordinal);

    /// <summary>Calls answered (outcome ok) by each version.</summary>
    private readonly Dictionary<long, long> versions = [];

    /// <summary>Shadow copies by outcome.</summary>
    private readonly Dictionary<string, long> shadow = new(StringComparer.Ordinal);

    private long recorded;

    /// <summary>Shadow copies whose response the model's comparer found to disagree; added to atomically, outside <see cref="gate"/>.</summary>
    internal long ShadowDisagreements;

    internal void CountCall(string outcome, long? version, long count)
    {
        lock (gate)
        {
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + count;
            if (version is { } v && outcome == "ok") versions[v] = versions.GetValueOrDefault(v) + count;
        }
    }

    internal void CountShadow(string outcome, long count)
    {
        lock (gate) shadow[outcome] = shadow.GetValueOrDefault(outcome) + count;
    }

    internal void AddDuration(double seconds)
    {
        lock (gate) durations[recorded++ % durations.Length] = seconds;
    }

    internal void AddBatch(int size)
    {
        var bucket = Array.FindIndex(DashboardStatistics.BatchBounds, b => size <= b);
        Interlocked.Increment(ref batches[bucket < 0 ? batches.Length - 1 : bucket]);
    }

    /// <summary>A consistent copy of the figures, with the latency percentiles of the window in milliseconds.</summary>
    internal (Dictionary<string, long> Outcomes, Dictionary<long, long> Versions, Dictionary<string, long> Shadow, long[] Batches, double[] LatencyMilliseconds) Read()
    {
        double[] window;
        Dictionary<string, long> outcomesCopy, shadowCopy;
        Dictionary<long, long> versionsCopy;
        lock (gate)
        {
            window = durations.AsSpan(0, (int)Math.Min(recorded, durations.Length)).ToArray();
            outcomesCopy = new(outcomes, StringComparer.Ordinal);
            versionsCopy = new(versions);
            shadowCopy = new(shadow, StringComparer.Ordinal);
        }

        Array.Sort(window);
        double[] percentiles = window.Length == 0 ? [] : [.. new[] { 0.5, 0.9, 0.99 }.Select(q => window[(int)Math.Min(window.Length - 1, Math.Ceiling(q * window.Length) - 1)] * 1000)];
        return (outcomesCopy, versionsCopy, shadowCopy, (long[])batches.Clone(), percentiles);
    }
}
