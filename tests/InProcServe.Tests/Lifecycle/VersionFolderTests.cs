using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Lifecycle;

public sealed class VersionFolderTests
{
    [Fact]
    public void Policies_pick_versions_highest_first_and_skip_what_is_not_a_version()
    {
        using var folder = new TemporaryFolder();
        foreach (var version in new[] { "1", "2", "10", "007" }) Write(folder.Path, version);
        Directory.CreateDirectory(Path.Combine(folder.Path, "3")); // no model file yet
        Write(folder.Path, "latest");
        Write(folder.Path, "-4");

        Assert.Equal([10L], VersionFolder.Scan(folder.Path).Select(v => v.Version));
        Assert.Equal([10L, 7, 2], VersionFolder.Scan(folder.Path, VersionPolicy.LatestN(3)).Select(v => v.Version));
        Assert.Equal([7L, 1], VersionFolder.Scan(folder.Path, VersionPolicy.Specific(1, 7, 5)).Select(v => v.Version));
        Assert.Equal(Path.Combine(folder.Path, "10", "model.onnx"), VersionFolder.Scan(folder.Path)[0].Path);
        Assert.Equal("latest 3", VersionPolicy.LatestN(3).ToString());
        Assert.Equal("versions 1, 7", VersionPolicy.Specific(7, 1).ToString());
    }

    [Fact]
    public void A_missing_folder_is_named_with_the_layout_it_should_have()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => VersionFolder.Scan("/nonexistent/fraud"));

        Assert.Equal("The model folder '/nonexistent/fraud' does not exist; it should hold one numbered folder per version, such as 1/model.onnx.", error.Message);
    }

    private static void Write(string root, string version)
    {
        Directory.CreateDirectory(Path.Combine(root, version));
        File.WriteAllBytes(Path.Combine(root, version, "model.onnx"), [1]);
    }
}
