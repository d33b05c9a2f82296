namespace InProcServe;

/// <summary>
/// A model folder in the Triton / TF Serving layout: one numbered sub-folder per version, each holding
/// <c>model.onnx</c>. Sub-folders that aren't positive numbers, or that hold no model file yet, are skipped.
/// </summary>
public static class VersionFolder
{
    /// <summary>The file a version folder holds.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>Finds the versions in <paramref name="folder"/> that <paramref name="policy"/> picks, highest first.</summary>
    /// <param name="folder">The model's folder (<c>models/fraud</c>).</param>
    /// <param name="policy">Which versions to serve. Default: null, <see cref="VersionPolicy.Latest"/>.</param>
    /// <returns>Each picked version with its model file.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static IReadOnlyList<(long Version, string Path)> Scan(string folder, VersionPolicy? policy = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The model folder '{Path.GetFullPath(folder)}' does not exist; it should hold one numbered folder per version, such as 1/{ModelFileName}.");
        }

        var versions = new Dictionary<long, string>();
        foreach (var sub in Directory.EnumerateDirectories(folder))
        {
            var file = Path.Combine(sub, ModelFileName);
            if (long.TryParse(Path.GetFileName(sub), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) && version > 0 && File.Exists(file))
            {
                versions[version] = Path.GetFullPath(file);
            }
        }

        return (policy ?? VersionPolicy.Latest).Select(versions.Keys).Select(v => (v, versions[v])).ToList();
    }
}
