namespace InProcServe.Generators.Tests.TestSupport;

/// <summary>
/// The checked-in generated sources under Baselines/. Set INPROCSERVE_UPDATE_BASELINES=1 to rewrite them from the
/// emitter's current output (in the source tree, not the build output), then review the diff before committing.
/// </summary>
internal static class Baselines
{
    /// <summary>Whether this run rewrites baselines instead of comparing.</summary>
    internal static bool Updating => Environment.GetEnvironmentVariable("INPROCSERVE_UPDATE_BASELINES") == "1";

    /// <summary>
    /// The repository root: the folder above the test's output that holds InProcServe.sln. Not this file's compile-time
    /// path, which CI builds map to "/_/" (ContinuousIntegrationBuild).
    /// </summary>
    internal static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string SourceFolder { get; } = Path.Combine(RepositoryRoot, "tests", "InProcServe.Generators.Tests", "Baselines");

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

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "InProcServe.sln"))) return folder.FullName;
        }

        throw new InvalidOperationException($"No InProcServe.sln above {AppContext.BaseDirectory}: the generator tests read their baselines from the source tree.");
    }
}
