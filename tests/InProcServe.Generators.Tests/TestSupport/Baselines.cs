using System.Runtime.CompilerServices;

namespace InProcServe.Generators.Tests.TestSupport;

/// <summary>
/// The checked-in generated sources under Baselines/. Set INPROCSERVE_UPDATE_BASELINES=1 to rewrite them from the
/// emitter's current output (in the source tree, not the build output), then review the diff before committing.
/// </summary>
internal static class Baselines
{
    /// <summary>Whether this run rewrites baselines instead of comparing.</summary>
    internal static bool Updating => Environment.GetEnvironmentVariable("INPROCSERVE_UPDATE_BASELINES") == "1";

    /// <summary>The repository root, found from this file's path at compile time.</summary>
    internal static string RepositoryRoot { get; } = Path.GetFullPath(Path.Combine(ThisFolder(), "..", "..", ".."));

    private static string SourceFolder { get; } = Path.Combine(ThisFolder(), "..", "Baselines");

    /// <summary>Compares <paramref name="actual"/> with Baselines/<paramref name="name"/>, or rewrites it when updating.</summary>
    internal static void Verify(string name, string actual)
    {
        var path = Path.Combine(SourceFolder, name);
        if (Updating)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"No baseline {name}; run the tests with INPROCSERVE_UPDATE_BASELINES=1 to create it.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }

    /// <summary>The baselines present for a case, so a file the emitter stopped producing is noticed.</summary>
    internal static IEnumerable<string> Existing(string folder) =>
        Directory.Exists(Path.Combine(SourceFolder, folder))
            ? Directory.GetFiles(Path.Combine(SourceFolder, folder)).Select(path => Path.GetFileName(path))
            : [];

    private static string ThisFolder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
