using System.Diagnostics;

namespace InProcServe.Tests.TestSupport;

/// <summary>Waits for what another thread, a timer or a file watcher makes true.</summary>
internal static class Poll
{
    /// <summary>Returns once <paramref name="condition"/> holds; fails the test when it hasn't within <paramref name="within"/>.</summary>
    internal static async Task UntilAsync(Func<bool> condition, TimeSpan within, int everyMilliseconds = 10)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < within, $"the condition never came true within {within.TotalSeconds:0.#} s");
            await Task.Delay(everyMilliseconds);
        }
    }
}
