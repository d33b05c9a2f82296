using Microsoft.Extensions.Configuration;

namespace InProcServe;

/// <summary>
/// The model repository (<c>InProcServe:ModelRepository</c>), in Triton's layout:
/// <c>&lt;repository&gt;/&lt;name&gt;/&lt;version&gt;/model.onnx</c>. Every model folder is a model, every version in it
/// served. A model that fails to load is reported not ready while the others serve, unless the repository is strict
/// (<c>InProcServe:ModelRepositoryStrict</c>), which fails the start. Watched (<c>InProcServe:ModelRepositoryWatch</c>),
/// new model folders load, removed ones unload, and each model's versions follow its folder (Triton's poll mode).
/// </summary>
internal sealed class ModelRepository
{
    internal const string PathKey = ModelConfiguration.Root + ":ModelRepository";
    internal const string StrictKey = ModelConfiguration.Root + ":ModelRepositoryStrict";
    internal const string WatchKey = ModelConfiguration.Root + ":ModelRepositoryWatch";

    private ModelRepository(string path, bool strict, bool watch)
    {
        Path = path;
        Strict = strict;
        Watch = watch;
    }

    /// <summary>The repository's folder.</summary>
    internal string Path { get; }

    /// <summary>Whether a model that fails to load fails the start.</summary>
    internal bool Strict { get; }

    /// <summary>Whether the repository's folders are watched for models and versions that come and go.</summary>
    internal bool Watch { get; }

    /// <summary>The repository configuration names, or null without one.</summary>
    /// <exception cref="InvalidOperationException">A setting is not what it must be, or the folder does not exist.</exception>
    internal static ModelRepository? From(IConfiguration? configuration)
    {
        if (configuration?[PathKey] is not { Length: > 0 } path) return null;
        var repository = new ModelRepository(path, Flag(configuration, StrictKey), Flag(configuration, WatchKey));
        if (!Directory.Exists(path))
        {
            throw new DirectoryNotFoundException($"{PathKey} is '{System.IO.Path.GetFullPath(path)}', which does not exist; it should hold one folder per model, each with numbered version folders.");
        }

        return repository;
    }

    /// <summary>The folder of the model <paramref name="name"/> in the repository at <paramref name="repository"/>, when it holds one with a version in it.</summary>
    internal static string? ModelFolder(string repository, string name)
    {
        // A name is one folder of the repository, never a path out of it.
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..") return null;
        var folder = System.IO.Path.Combine(repository, name);
        return Directory.Exists(folder) && VersionFolder.Scan(folder, VersionPolicy.LatestN(int.MaxValue)).Count > 0 ? folder : null;
    }

    /// <summary>The models the repository holds now: its folders with at least one numbered version, by name.</summary>
    internal IReadOnlyList<string> ModelNames() =>
        Directory.Exists(Path)
            ? Directory.EnumerateDirectories(Path).Select(System.IO.Path.GetFileName).OfType<string>().Where(n => ModelFolder(Path, n) is not null).Order(StringComparer.Ordinal).ToArray()
            : [];

    private static bool Flag(IConfiguration configuration, string key) => configuration[key] switch
    {
        null => false,
        var text when bool.TryParse(text, out var value) => value,
        var text => throw new InvalidOperationException($"{key} is '{text}'; it must be true or false."),
    };
}
