namespace InProcServe.Tests.Lifecycle;

public sealed class TrafficSplitTests
{
    private const int Draws = 100_000;

    [Theory]
    [InlineData(5)]
    [InlineData(20)]
    [InlineData(50)]
    public void Random_calls_go_to_the_canary_in_the_asked_share(double percent)
    {
        var split = new TrafficSplit(percent);

        var share = Enumerable.Range(0, Draws).Count(_ => split.ToCanary()) * 100.0 / Draws;

        // Five standard deviations of a binomial share: a false failure once in millions of runs.
        Assert.InRange(share, percent - Tolerance(percent), percent + Tolerance(percent));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(20)]
    public void Keyed_calls_are_sticky_and_spread_in_the_asked_share(double percent)
    {
        var split = new TrafficSplit(percent);
        var keys = Enumerable.Range(0, Draws).Select(i => $"user-{i}").ToArray();

        var first = keys.Select(k => split.ToCanary(k)).ToArray();
        var again = keys.Select(k => split.ToCanary(k)).ToArray();

        Assert.Equal(first, again);
        var share = first.Count(c => c) * 100.0 / Draws;
        Assert.InRange(share, percent - Tolerance(percent), percent + Tolerance(percent));
    }

    [Fact]
    public void Zero_and_a_hundred_percent_are_exact_and_other_shares_are_refused()
    {
        Assert.DoesNotContain(Enumerable.Range(0, 1000), i => new TrafficSplit(0).ToCanary($"k{i}"));
        Assert.All(Enumerable.Range(0, 1000), i => Assert.True(new TrafficSplit(100).ToCanary($"k{i}")));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrafficSplit(101));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrafficSplit(double.NaN));
    }

    private static double Tolerance(double percent) => 5 * 100 * Math.Sqrt(percent / 100 * (1 - percent / 100) / Draws);
}
