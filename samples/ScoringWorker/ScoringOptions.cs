using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace ScoringWorker;

/// <summary>How to score, from the command line (<c>--rows 20000</c> arrives as configuration key "rows").</summary>
public sealed record ScoringOptions(int Rows, int Concurrency, string? Input, string Mode, string? Json)
{
    public static readonly string[] Modes = ["direct", "queued", "bulk"];

    public static ScoringOptions Read(IConfiguration configuration)
    {
        var errors = new List<string>();
        var rows = Int(configuration, "rows", 100_000, errors);
        var concurrency = Int(configuration, "concurrency", 64, errors);
        var mode = (configuration["mode"] ?? "queued").ToLowerInvariant();
        if (!Modes.Contains(mode)) errors.Add($"--mode is '{mode}'; it must be one of {string.Join(", ", Modes)}.");
        if (errors.Count > 0) throw new ArgumentException(string.Join(Environment.NewLine, errors));
        return new ScoringOptions(rows, concurrency, configuration["input"], mode, configuration["json"]);
    }

    private static int Int(IConfiguration configuration, string key, int fallback, List<string> errors)
    {
        if (configuration[key] is not { } text) return fallback;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0) return value;
        errors.Add($"--{key} is '{text}'; it must be a positive whole number.");
        return fallback;
    }
}
