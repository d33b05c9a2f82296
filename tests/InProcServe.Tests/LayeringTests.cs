using System.Text.RegularExpressions;

namespace InProcServe.Tests;

/// <summary>
/// The core's folders are layers (../shared/ARCHITECTURE.md, "Where things live"): each uses only the layers below it,
/// so no two folders use each other. Read from the sources: a type belongs to the folder of the file that declares it.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>What each folder may use. Sessions and Tensors are one layer: the only code that sees ONNX Runtime.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Diagnostics"] = ["Contracts", "Sessions", "Tensors"],
        ["Sessions"] = ["Tensors", "Diagnostics"],
        ["Tensors"] = ["Sessions", "Diagnostics"],
        ["Contracts"] = ["Sessions", "Tensors", "Diagnostics"],
        ["Batching"] = ["Contracts", "Sessions", "Tensors", "Diagnostics"],
        ["Lifecycle"] = ["Contracts", "Sessions", "Tensors", "Diagnostics"],
        ["Sequences"] = ["Sessions", "Tensors", "Diagnostics"],
        ["Protocol"] = ["Tensors"],
        ["Remote"] = ["Batching", "Contracts", "Protocol", "Sessions", "Tensors", "Diagnostics"],
        ["Pipeline"] = ["Batching", "Contracts", "Lifecycle", "Sessions", "Tensors", "Diagnostics"],
        ["Hosting"] = ["Pipeline", "Remote", "Protocol", "Sequences", "Batching", "Contracts", "Lifecycle", "Sessions", "Tensors", "Diagnostics"],
    };

    [Fact]
    public void Every_folder_uses_only_the_layers_below_it()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "InProcServe");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(f => (Folder: Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar)[0], Code: Code(File.ReadAllText(f)), Name: Path.GetFileName(f)))
            .Where(f => Allowed.ContainsKey(f.Folder))
            .ToList();
        var owners = new Dictionary<string, string>();
        foreach (var file in files)
        {
            foreach (Match declared in Declaration().Matches(file.Code)) owners.TryAdd(declared.Groups[1].Value, file.Folder);
        }

        var breaches = new SortedSet<string>();
        foreach (var file in files)
        {
            foreach (var word in Identifier().Matches(file.Code).Select(m => m.Value).Distinct())
            {
                if (owners.TryGetValue(word, out var owner) && owner != file.Folder && !Allowed[file.Folder].Contains(owner))
                {
                    breaches.Add($"{file.Folder}/{file.Name} uses {word} ({owner})");
                }
            }
        }

        Assert.Empty(breaches);
    }

    /// <summary>The code without comments and string literals, whose words are not uses.</summary>
    private static string Code(string source) => Strings().Replace(Comments().Replace(source, ""), "\"\"");

    /// <summary>The folder holding InProcServe.sln, above the test's output folder (source paths are mapped in CI builds).</summary>
    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "InProcServe.sln"))) return folder.FullName;
        }

        throw new DirectoryNotFoundException($"No InProcServe.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record)\s+([A-Z]\w*)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"(?<![.\w])[A-Z]\w*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"//[^\n]*|/\*[\s\S]*?\*/")]
    private static partial Regex Comments();

    [GeneratedRegex(@"""""""[\s\S]*?""""""|@""(?:[^""]|"""")*""|\$?""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex Strings();
}
