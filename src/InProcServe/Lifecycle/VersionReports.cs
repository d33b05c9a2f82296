namespace InProcServe;

/// <summary>Prediction monitoring read across a model's versions: what each one answered, and how far it drifted from the primary.</summary>
internal static class VersionReports
{
    /// <summary>
    /// The report of every monitored version in <paramref name="routing"/>: each monitored output's distribution over its
    /// latest sampled values, its drift from the primary's and from the baseline, and each numeric input column.
    /// </summary>
    internal static MonitoringReport Monitoring(string model, MonitoringOptions options, VersionRouting routing)
    {
        var primary = routing.Primary.Monitor;
        var primaryWindows = primary is null ? [] : primary.Outputs.Select((_, i) => primary.Window(i)).ToArray();
        var versions = new List<VersionMonitoringReport>();
        foreach (var version in Ordered(routing))
        {
            if (version.Monitor is not { } monitor) continue;
            var role = version == routing.Primary ? "primary" : version == routing.Canary ? "canary" : version == routing.Shadow?.Version ? "shadow" : "standby";
            var outputs = new OutputDistribution[monitor.Outputs.Count];
            for (var i = 0; i < outputs.Length; i++)
            {
                var window = monitor == primary ? primaryWindows[i] : monitor.Window(i);
                outputs[i] = Distributions.Describe(monitor.Outputs[i], window, monitor == primary || primaryWindows.Length <= i ? null : primaryWindows[i]);
            }

            versions.Add(new VersionMonitoringReport(version.Version, role, monitor.SampledRows, outputs, monitor.Inputs()));
        }

        return new MonitoringReport(model, options.SampleRate, versions);
    }

    /// <summary>The primary, the canary, the shadow, then the other loaded versions, highest first.</summary>
    private static IEnumerable<ServingVersion> Ordered(VersionRouting routing)
    {
        var first = new[] { routing.Primary, routing.Canary, routing.Shadow?.Version }.OfType<ServingVersion>().ToArray();
        return first.Concat(routing.Loaded.Where(v => !first.Contains(v)));
    }
}
