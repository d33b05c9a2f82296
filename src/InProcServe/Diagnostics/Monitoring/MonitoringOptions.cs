namespace InProcServe;

/// <summary>
/// Prediction monitoring of a hosted model (<see cref="ModelOptions.Monitoring"/>): a sampled share of the rows each
/// version answers feeds the distribution of each monitored output (<c>MonitorOutput</c> on the builder) over a
/// sliding window, a summary of each numeric input column, and the drift of each version against the primary and
/// against a <see cref="Baseline"/> file. Read it with <see cref="HostedModel.GetMonitoringReport"/> or as metrics
/// (<c>inprocserve.monitor.*</c>). In configuration: <c>InProcServe:Models:&lt;Name&gt;:Monitoring:Enabled</c>,
/// <c>:SampleRate</c>, <c>:WindowSize</c>, <c>:Baseline</c>.
/// </summary>
public sealed class MonitoringOptions
{
    /// <summary>Whether the model's predictions are monitored. Default: false; <c>AddMonitoring</c> and <c>MonitorOutput</c> turn it on.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The share of rows sampled, above 0 and at most 1. Default: 0.1. Rows are picked at random per call, so a
    /// sample of a steady stream is a fair one; the cost of a row that is not picked is one random number.
    /// </summary>
    public double SampleRate { get; set; } = 0.1;

    /// <summary>
    /// How many of the latest sampled values of each output the quantiles, the histogram and the drift are computed
    /// over, from 16 to 1,000,000. Default: 2048.
    /// </summary>
    public int WindowSize { get; set; } = 2048;

    /// <summary>
    /// A JSON file with the expected distribution of outputs (bin edges and proportions, <see cref="MonitoringBaseline"/>):
    /// each version's drift from it is reported as a population stability index. Default: null, no baseline.
    /// </summary>
    public string? Baseline { get; set; }

    /// <summary>The outputs registered by <c>MonitorOutput</c>, in order.</summary>
    internal List<MonitoredOutput> Outputs { get; } = [];

    /// <summary>Adds a line to <paramref name="errors"/> for every invalid value (prefixed by the caller with the section's name).</summary>
    internal void AddErrors(List<string> errors)
    {
        if (SampleRate is not (> 0 and <= 1)) errors.Add($"{nameof(SampleRate)} is {SampleRate}; it must be above 0 and at most 1 (default: 0.1).");
        if (WindowSize is < 16 or > 1_000_000) errors.Add($"{nameof(WindowSize)} is {WindowSize}; it must be from 16 to 1000000 (default: 2048).");
        foreach (var duplicate in Outputs.GroupBy(o => o.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"the output '{duplicate.Key}' is monitored {duplicate.Count()} times (MonitorOutput); give each a name of its own.");
        }

        if (Baseline is null) return;
        if (Baseline.Length == 0)
        {
            errors.Add($"{nameof(Baseline)} is empty; it must name a JSON baseline file, or be left out.");
            return;
        }

        try
        {
            var baseline = MonitoringBaseline.Load(Baseline);
            foreach (var name in baseline.Outputs.Keys.Where(n => Outputs.All(o => o.Name != n)))
            {
                errors.Add($"{nameof(Baseline)} '{Baseline}' describes the output '{name}', which no MonitorOutput registers (monitored: {(Outputs.Count == 0 ? "none" : string.Join(", ", Outputs.Select(o => $"'{o.Name}'")))}).");
            }
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or FormatException)
        {
            errors.Add($"{nameof(Baseline)} '{Baseline}' can't be read: {error.Message}");
        }
    }
}

/// <summary>
/// One monitored output: a name, how its value is read from the model's output record (a
/// <c>Func&lt;TOutput, double&gt;</c>, checked against the model's contract when it loads), and its histogram's bins.
/// </summary>
internal sealed record MonitoredOutput(string Name, Delegate Value, Type OutputType, double Min, double Max, int Bins);
