namespace InProcServe;

// Prediction monitoring: what each version answered, sampled (Diagnostics/Monitoring), read here across versions.
public abstract partial class HostedModel
{
    /// <summary>The monitoring options the model loaded with; null when monitoring is off.</summary>
    private protected MonitoringOptions? monitoring;

    /// <summary>Whether the model's predictions are monitored (<see cref="ModelOptions.Monitoring"/>); known once the model loaded.</summary>
    public bool IsMonitored => monitoring is not null;

    /// <summary>
    /// What prediction monitoring saw of each loaded version: the distribution of each monitored output over its
    /// latest sampled values, with its drift from the primary and from the baseline, and a summary of each numeric
    /// input column. Computed now; cheap enough to call every second.
    /// </summary>
    /// <returns>The report; null when monitoring is off (<see cref="MonitoringOptions.Enabled"/>) or the model is not ready.</returns>
    public MonitoringReport? GetMonitoringReport()
    {
        if (monitoring is not { } options || routing is not { } current) return null;
        var primary = current.Primary.Monitor;
        var primaryWindows = primary is null ? [] : primary.Outputs.Select((_, i) => primary.Window(i)).ToArray();
        var versions = new List<VersionMonitoringReport>();
        foreach (var version in Ordered(current))
        {
            if (version.Monitor is not { } monitor) continue;
            var role = version == current.Primary ? "primary" : version == current.Canary ? "canary" : version == current.Shadow?.Version ? "shadow" : "standby";
            var outputs = new OutputDistribution[monitor.Outputs.Count];
            for (var i = 0; i < outputs.Length; i++)
            {
                var window = monitor == primary ? primaryWindows[i] : monitor.Window(i);
                outputs[i] = Distributions.Describe(monitor.Outputs[i], window, monitor == primary || primaryWindows.Length <= i ? null : primaryWindows[i]);
            }

            versions.Add(new VersionMonitoringReport(version.Version, role, monitor.SampledRows, outputs, monitor.Inputs()));
        }

        return new MonitoringReport(Name, options.SampleRate, versions);
    }

    /// <summary>The primary, the canary, the shadow, then the other loaded versions, highest first.</summary>
    private static IEnumerable<ServingVersion> Ordered(VersionRouting routing)
    {
        var first = new[] { routing.Primary, routing.Canary, routing.Shadow?.Version }.OfType<ServingVersion>().ToArray();
        return first.Concat(routing.Loaded.Where(v => !first.Contains(v)));
    }
}
