using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace InProcServe;

/// <summary>
/// The <c>InProcServe</c> meter (created through <see cref="IMeterFactory"/>, so each service provider has its own)
/// and its instruments, named and united in OpenTelemetry's style. Durations are seconds in histograms whose
/// buckets reach down to microseconds, since in-process calls take tens of them.
/// </summary>
internal sealed class InProcServeMetrics
{
    /// <summary>The meter's and the activity source's name.</summary>
    internal const string Name = "InProcServe";

    internal const string ModelTag = "inprocserve.model.name";
    internal const string VersionTag = "inprocserve.model.version";
    internal const string ModeTag = "inprocserve.call.mode";
    internal const string OutcomeTag = "inprocserve.outcome";
    internal const string CascadeTag = "inprocserve.cascade.name";
    internal const string ResultTag = "inprocserve.result";
    internal const string OutputTag = "inprocserve.monitor.output";
    internal const string QuantileTag = "inprocserve.monitor.quantile";
    internal const string BinTag = "inprocserve.monitor.bin.upper";
    internal const string ReferenceTag = "inprocserve.monitor.reference";
    internal const string InputTag = "inprocserve.monitor.input";
    internal const string ColumnTag = "inprocserve.monitor.column";

    /// <summary>How long a monitoring report serves the monitoring instruments: one collection reads them all, and should compute each model's report once.</summary>
    private static readonly TimeSpan ReportLifetime = TimeSpan.FromMilliseconds(500);

    /// <summary>One activity per call; no listener, no cost beyond a check.</summary>
    internal static readonly ActivitySource ActivitySource = new(Name, typeof(InProcServeMetrics).Assembly.GetName().Version?.ToString());

    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private static readonly InstrumentAdvice<int> BatchAdvice = new()
    {
        HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    };

    /// <summary>The models whose queue lengths the gauge reports; added as they load.</summary>
    private volatile IObservedModel[] observed = [];
    private readonly Lock observedGate = new();

    /// <summary>The latest monitoring report of each monitored model and when it was made (guarded by <see cref="observedGate"/>).</summary>
    private readonly Dictionary<IObservedModel, (long Made, MonitoringReport Report)> reports = [];

    public InProcServeMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(Name);
        RequestDuration = meter.CreateHistogram("inprocserve.request.duration", "s", "Duration of model calls, handlers and queueing included.", advice: SecondsAdvice);
        QueueDuration = meter.CreateHistogram("inprocserve.queue.duration", "s", "Time queued calls waited before their batch started.", advice: SecondsAdvice);
        InferenceDuration = meter.CreateHistogram("inprocserve.inference.duration", "s", "Duration of ONNX Runtime runs of queued batches.", advice: SecondsAdvice);
        BatchSize = meter.CreateHistogram("inprocserve.batch.size", "{request}", "Requests per queued batch.", advice: BatchAdvice);
        Requests = meter.CreateCounter<long>("inprocserve.requests", "{request}", "Calls by outcome: ok, canceled, timeout, rejected, error.");
        CascadeRequests = meter.CreateCounter<long>("inprocserve.cascade.requests", "{request}", "Calls of a cascade.");
        CascadeEscalations = meter.CreateCounter<long>("inprocserve.cascade.escalations", "{request}", "Cascade calls whose light result sent them on to the heavy model.");
        ModelLoads = meter.CreateCounter<long>("inprocserve.model.loads", "{load}", "Model loads by result: ok or error.");
        ModelReloads = meter.CreateCounter<long>("inprocserve.model.reloads", "{reload}", "Reloads of a serving model (explicit or on a file change) by result: ok, or error when the old version kept serving.");
        CacheLookups = meter.CreateCounter<long>("inprocserve.response_cache.lookups", "{lookup}", "Response cache lookups by result: hit or miss.");
        ShadowRequests = meter.CreateCounter<long>("inprocserve.shadow.requests", "{request}", "Copies of calls sent to a shadow version, by outcome: ok, error, or dropped (too many copies in flight, or the model stopped).");
        ShadowDisagreements = meter.CreateCounter<long>("inprocserve.shadow.disagreements", "{request}", "Shadow copies whose response the model's comparer (CompareShadow) found to disagree with the caller's.");
        meter.CreateObservableGauge("inprocserve.queue.length", ObserveQueues, "{request}", "Calls waiting in a model's queue.");
        meter.CreateObservableCounter("inprocserve.monitor.samples", () => Monitored<long>((version, tags) => [new Measurement<long>(version.SampledRows, tags)]), "{row}", "Rows prediction monitoring sampled, per version.");
        meter.CreateObservableGauge("inprocserve.monitor.output.quantile", () => Monitored((version, tags) => version.Outputs.SelectMany(o => o.Quantiles.Select(q => new Measurement<double>(q.Value, [.. tags, new(OutputTag, o.Name), new(QuantileTag, q.Level)])))), null, "Quantiles of a monitored output over the version's window of sampled values.");
        meter.CreateObservableGauge("inprocserve.monitor.output.bin", () => Monitored((version, tags) => version.Outputs.SelectMany(o => o.BinCounts.Select((c, i) => new Measurement<long>(c, [.. tags, new(OutputTag, o.Name), new(BinTag, o.BinEdges[i + 1])])))), "{value}", "Sampled values of a monitored output per histogram bin (tagged with the bin's upper edge), over the version's window.");
        meter.CreateObservableGauge("inprocserve.monitor.output.stability", () => Monitored((version, tags) => version.Outputs.SelectMany(o => Stability(o, tags))), null, "Population stability index of a monitored output against the primary's distribution or the baseline file's (inprocserve.monitor.reference).");
        meter.CreateObservableGauge("inprocserve.monitor.input.mean", () => Monitored((version, tags) => version.Inputs.Where(c => c.Count > 0).Select(c => new Measurement<double>(c.Mean, [.. tags, new(InputTag, c.Tensor), new(ColumnTag, c.Column)]))), null, "Mean of a sampled numeric input column.");
        meter.CreateObservableGauge("inprocserve.monitor.input.stddev", () => Monitored((version, tags) => version.Inputs.Where(c => c.Count > 0).Select(c => new Measurement<double>(c.StandardDeviation, [.. tags, new(InputTag, c.Tensor), new(ColumnTag, c.Column)]))), null, "Standard deviation of a sampled numeric input column.");
        meter.CreateObservableCounter("inprocserve.monitor.input.nan", () => Monitored((version, tags) => version.Inputs.Where(c => c.NaNCount > 0).Select(c => new Measurement<long>(c.NaNCount, [.. tags, new(InputTag, c.Tensor), new(ColumnTag, c.Column)]))), "{value}", "NaN values seen in a sampled input column.");
    }

    internal Histogram<double> RequestDuration { get; }

    internal Histogram<double> QueueDuration { get; }

    internal Histogram<double> InferenceDuration { get; }

    internal Histogram<int> BatchSize { get; }

    internal Counter<long> Requests { get; }

    internal Counter<long> CascadeRequests { get; }

    internal Counter<long> CascadeEscalations { get; }

    internal Counter<long> ModelLoads { get; }

    internal Counter<long> ModelReloads { get; }

    internal Counter<long> CacheLookups { get; }

    internal Counter<long> ShadowRequests { get; }

    internal Counter<long> ShadowDisagreements { get; }

    /// <summary>Reports <paramref name="model"/>'s queue length from now on.</summary>
    internal void Observe(IObservedModel model)
    {
        lock (observedGate)
        {
            if (!observed.Contains(model)) observed = [.. observed, model];
        }
    }

    /// <summary>Stops reporting <paramref name="model"/> (a repository model that was unloaded).</summary>
    internal void Forget(IObservedModel model)
    {
        lock (observedGate)
        {
            observed = [.. observed.Where(m => m != model)];
            reports.Remove(model);
        }
    }

    /// <summary>The measurements <paramref name="measure"/> makes of each version of each monitored model, with the model and version tags.</summary>
    private IEnumerable<Measurement<T>> Monitored<T>(Func<VersionMonitoringReport, KeyValuePair<string, object?>[], IEnumerable<Measurement<T>>> measure)
        where T : struct
    {
        foreach (var model in observed)
        {
            if (!model.IsReady || Report(model) is not { } report) continue;
            foreach (var version in report.Versions)
            {
                foreach (var measurement in measure(version, [model.ModelTag, new(VersionTag, version.Version)])) yield return measurement;
            }
        }
    }

    /// <summary>A model's monitoring report, made at most once per <see cref="ReportLifetime"/>.</summary>
    private MonitoringReport? Report(IObservedModel model)
    {
        var now = Stopwatch.GetTimestamp();
        lock (observedGate)
        {
            if (reports.TryGetValue(model, out var cached) && Stopwatch.GetElapsedTime(cached.Made, now) < ReportLifetime) return cached.Report;
        }

        var report = model.GetMonitoringReport();
        if (report is null) return null;
        lock (observedGate) reports[model] = (now, report);
        return report;
    }

    private static IEnumerable<Measurement<double>> Stability(OutputDistribution output, KeyValuePair<string, object?>[] tags)
    {
        if (output.PrimaryStability is { } primary) yield return new Measurement<double>(primary, [.. tags, new(OutputTag, output.Name), new(ReferenceTag, "primary")]);
        if (output.BaselineStability is { } baseline) yield return new Measurement<double>(baseline, [.. tags, new(OutputTag, output.Name), new(ReferenceTag, "baseline")]);
    }

    private IEnumerable<Measurement<int>> ObserveQueues()
    {
        foreach (var model in observed)
        {
            if (model.IsReady)
            {
                yield return new Measurement<int>(model.QueueLength, model.ModelTag, model.VersionTag);
            }
        }
    }
}
