namespace InProcServe;

/// <summary>The arithmetic monitoring reports with: quantiles, histograms and the population stability index.</summary>
internal static class Distributions
{
    /// <summary>The quantile levels every report gives.</summary>
    internal static readonly double[] QuantileLevels = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

    /// <summary>
    /// A proportion that stands in for an empty bin in the stability index, whose terms divide by and take the log of
    /// proportions: without it one empty bin makes the index infinite. 0.0001 is the usual choice; it caps an empty
    /// bin's term near 0.1 per 1% of values.
    /// </summary>
    internal const double EmptyBinProportion = 1e-4;

    /// <summary>The quantile at <paramref name="level"/> of values sorted ascending, interpolated linearly between the nearest ranks (numpy's default).</summary>
    internal static double Quantile(ReadOnlySpan<double> sorted, double level)
    {
        var position = (sorted.Length - 1) * level;
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
    }

    /// <summary>Counts <paramref name="values"/> (NaN skipped) into the bins <paramref name="edges"/> make, clamping values outside them into the first or last bin.</summary>
    internal static long[] Histogram(ReadOnlySpan<double> values, IReadOnlyList<double> edges)
    {
        var counts = new long[edges.Count - 1];
        foreach (var value in values)
        {
            if (double.IsNaN(value)) continue;
            counts[Bin(value, edges)]++;
        }

        return counts;
    }

    /// <summary>
    /// The population stability index of <paramref name="actual"/> against <paramref name="expected"/> (shares per bin):
    /// the sum over bins of (actual − expected) · ln(actual / expected), with <see cref="EmptyBinProportion"/> for an empty bin.
    /// </summary>
    internal static double StabilityIndex(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        var index = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var e = Math.Max(expected[i], EmptyBinProportion);
            var a = Math.Max(actual[i], EmptyBinProportion);
            index += (a - e) * Math.Log(a / e);
        }

        return index;
    }

    /// <summary>Each bin's share of the counted values; null when nothing was counted.</summary>
    internal static double[]? Proportions(long[] counts)
    {
        var total = counts.Sum();
        return total == 0 ? null : counts.Select(c => (double)c / total).ToArray();
    }

    /// <summary>Evenly spaced edges of <paramref name="bins"/> bins from <paramref name="min"/> to <paramref name="max"/>.</summary>
    internal static double[] EvenEdges(double min, double max, int bins) =>
        Enumerable.Range(0, bins + 1).Select(i => i == bins ? max : min + (max - min) * i / bins).ToArray();

    /// <summary>One output's figures over its window; <paramref name="primary"/> is the primary's window, null for the primary itself.</summary>
    internal static OutputDistribution Describe(OutputBins bins, double[] window, double[]? primary)
    {
        var numbers = window.Where(v => !double.IsNaN(v)).ToArray();
        Array.Sort(numbers);
        var quantiles = numbers.Length == 0 ? [] : QuantileLevels.Select(l => new Quantile(l, Quantile(numbers, l))).ToArray();
        var counts = Histogram(numbers, bins.Edges);
        var shares = Proportions(counts);
        double? versusPrimary = null;
        if (primary is not null && shares is not null && Proportions(Histogram(primary, bins.Edges)) is { } expected)
        {
            versusPrimary = StabilityIndex(expected, shares);
        }

        double? versusBaseline = null;
        if (bins.Baseline is { } baseline && shares is not null)
        {
            versusBaseline = StabilityIndex(baseline.Proportions.ToArray(), shares);
        }

        return new OutputDistribution(
            bins.Name,
            window.Length,
            numbers.Length == 0 ? double.NaN : numbers.Average(),
            quantiles,
            bins.Edges,
            counts,
            window.Length - numbers.Length,
            versusPrimary,
            versusBaseline);
    }

    private static int Bin(double value, IReadOnlyList<double> edges)
    {
        // Binary search for the last edge at or below the value; the last bin is closed, as numpy's histogram's is.
        int low = 0, high = edges.Count - 2;
        if (value <= edges[0]) return 0;
        if (value >= edges[^1]) return high;
        while (low < high)
        {
            var middle = (low + high + 1) >> 1;
            if (edges[middle] <= value) low = middle;
            else high = middle - 1;
        }

        return low;
    }
}
