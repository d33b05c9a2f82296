namespace InProcServe;

/// <summary>
/// What prediction monitoring saw of one model (<see cref="HostedModel.GetMonitoringReport"/>): one entry per loaded
/// version, each computed when asked for, over the version's latest sampled rows.
/// </summary>
/// <param name="Model">The model's name.</param>
/// <param name="SampleRate">The share of rows sampled (<see cref="MonitoringOptions.SampleRate"/>).</param>
/// <param name="Versions">Each loaded version: the primary first, then the canary and the shadow if any, then the others.</param>
public sealed record MonitoringReport(string Model, double SampleRate, IReadOnlyList<VersionMonitoringReport> Versions);

/// <summary>What monitoring saw of one version.</summary>
/// <param name="Version">The version's number.</param>
/// <param name="Role">What the version does: <c>primary</c>, <c>canary</c>, <c>shadow</c>, or <c>standby</c> for a version loaded but not called.</param>
/// <param name="SampledRows">Rows sampled since the version loaded.</param>
/// <param name="Outputs">The distribution of each monitored output, in the order they were registered.</param>
/// <param name="Inputs">A summary of each numeric input column, in the contract's order.</param>
public sealed record VersionMonitoringReport(long Version, string Role, long SampledRows, IReadOnlyList<OutputDistribution> Outputs, IReadOnlyList<InputColumnSummary> Inputs);

/// <summary>
/// The distribution of one output's latest sampled values (at most <see cref="MonitoringOptions.WindowSize"/>), and
/// its drift. Quantiles interpolate linearly between the two nearest ranks (numpy's default, Hyndman and Fan's type 7).
/// </summary>
/// <param name="Name">The output's name (<c>MonitorOutput</c>).</param>
/// <param name="Count">The values in the window.</param>
/// <param name="Mean">Their mean; NaN when the window is empty.</param>
/// <param name="Quantiles">The 1st, 5th, 25th, 50th, 75th, 95th and 99th percentiles, in that order; empty when the window is empty.</param>
/// <param name="BinEdges">The histogram's edges: the baseline's for an output it describes, else those <c>MonitorOutput</c> set.</param>
/// <param name="BinCounts">
/// Values per bin: bin <c>i</c> holds values from <c>BinEdges[i]</c> up to, not including, <c>BinEdges[i + 1]</c>; the last
/// bin includes its upper edge, values below the first edge count in the first bin, and values above the last in the last.
/// NaN values count in none.
/// </param>
/// <param name="NaNCount">NaN values in the window.</param>
/// <param name="PrimaryStability">
/// The population stability index of this version's values against the primary's, over <see cref="BinEdges"/>: 0 for the
/// same distribution, above 0.1 a shift worth a look, above 0.25 a large one. Null for the primary, and while either window is empty.
/// </param>
/// <param name="BaselineStability">The population stability index against the baseline file's distribution; null without a baseline for this output, or while the window is empty.</param>
public sealed record OutputDistribution(
    string Name,
    int Count,
    double Mean,
    IReadOnlyList<Quantile> Quantiles,
    IReadOnlyList<double> BinEdges,
    IReadOnlyList<long> BinCounts,
    long NaNCount,
    double? PrimaryStability,
    double? BaselineStability);

/// <summary>One quantile of a distribution.</summary>
/// <param name="Level">Its level, from 0 to 1: 0.5 for the median.</param>
/// <param name="Value">The value below which that share of values lies.</param>
public readonly record struct Quantile(double Level, double Value);

/// <summary>
/// One numeric column of a model input, over every sampled row since the version loaded: a scalar member is one
/// column, a tensor of K elements per row is K columns (tensors of over 256 elements per row are not summarized).
/// </summary>
/// <param name="Tensor">The model input's name.</param>
/// <param name="Column">The column within the row, from 0.</param>
/// <param name="Count">Values summarized, NaN excluded.</param>
/// <param name="Mean">Their mean; NaN when there are none.</param>
/// <param name="StandardDeviation">Their population standard deviation; NaN when there are none.</param>
/// <param name="NaNCount">NaN values seen (floating-point inputs only).</param>
public sealed record InputColumnSummary(string Tensor, int Column, long Count, double Mean, double StandardDeviation, long NaNCount);
