using System.Text.Json;

namespace InProcServe.Tests.Diagnostics.Monitoring;

/// <summary>
/// The samples of known distributions monitoring_reference.py draws, drawn the same way here, and numpy's figures
/// for them (monitoring.reference.json).
/// </summary>
internal static class MonitoringSamples
{
    internal static readonly JsonElement Reference = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Diagnostics", "Monitoring", "monitoring.reference.json"))).RootElement;

    /// <summary>Uniform(0, 1) from a 32-bit linear congruential generator (Numerical Recipes' constants), as the script draws it.</summary>
    internal static double[] Uniforms(uint seed, int count)
    {
        var state = seed;
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            state = unchecked(state * 1664525u + 1013904223u);
            values[i] = (state + 0.5) / 4294967296.0;
        }

        return values;
    }

    internal static double[] Exponential(uint seed, int count) => Uniforms(seed, count).Select(u => -Math.Log(1 - u)).ToArray();

    /// <summary>Normal(mean, sd) by Box and Muller's transform of pairs of uniforms.</summary>
    internal static double[] Normal(uint seed, int count, double mean, double sd)
    {
        var u = Uniforms(seed, 2 * count);
        return Enumerable.Range(0, count).Select(i => mean + sd * Math.Sqrt(-2 * Math.Log(u[2 * i])) * Math.Cos(2 * Math.PI * u[2 * i + 1])).ToArray();
    }

    internal static double[] Numbers(this JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
