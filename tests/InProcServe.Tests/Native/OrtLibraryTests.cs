using InProcServe.Native;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Native;

public sealed class OrtLibraryTests
{
    private static string RealLibrary
    {
        get
        {
            OnnxRuntime.Initialize();
            return Path.GetFullPath(OnnxRuntime.LibraryPath);
        }
    }

    [Fact]
    public void The_build_puts_the_library_in_the_app_folder_and_it_is_found_there()
    {
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "libonnxruntime.so.1"), RealLibrary);
        Assert.Equal(typeof(OrtLibraryTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "OnnxRuntimeVersion").Value, OnnxRuntime.Version);
    }

    [Fact]
    public void Candidates_are_app_folder_then_NuGet_layout_then_OS_search()
    {
        var candidates = OrtLibrary.Candidates(null, null, "/app").ToList();

        Assert.Equal(
            ["app folder", "NuGet native layout", "OS library search"],
            candidates.Select(c => c.Source).Distinct());
        Assert.Equal("/app/libonnxruntime.so.1", candidates[0].Candidate);
        Assert.Contains("/app/runtimes/linux-x64/native/libonnxruntime.so.1", candidates.Select(c => c.Candidate));
        Assert.True(candidates[^1].IsSearchName);
    }

    [Fact]
    public void An_explicit_path_or_the_environment_variable_is_the_only_candidate()
    {
        Assert.Equal(["explicit path (OnnxRuntime.Initialize)"], OrtLibrary.Candidates("/opt/ort/libonnxruntime.so.1", "/env/lib.so", "/app").Select(c => c.Source));
        Assert.Equal(["environment variable INPROCSERVE_ONNXRUNTIME"], OrtLibrary.Candidates(null, "/env/libonnxruntime.so.1", "/app").Select(c => c.Source));
    }

    [Fact]
    public void A_wrong_environment_variable_fails_with_every_attempt_and_the_fix()
    {
        var error = Assert.Throws<DllNotFoundException>(() => OrtLibrary.Resolve(null, "/nowhere/libonnxruntime.so.1", AppContext.BaseDirectory));

        Assert.Contains("environment variable INPROCSERVE_ONNXRUNTIME: /nowhere/libonnxruntime.so.1 → no such file", error.Message);
        Assert.Contains("To fix:", error.Message);
        Assert.Contains("OnnxRuntime.Initialize(path)", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_library_or_not_ONNX_Runtime_is_named_with_the_reason()
    {
        using var folder = new TemporaryFolder();
        var notElf = Path.Combine(folder.Path, "libonnxruntime.so.1");
        File.WriteAllText(notElf, "not a shared object");
        var otherLibrary = typeof(object).Assembly.Location.Replace("System.Private.CoreLib.dll", "libSystem.Native.so");

        var notLoadable = Assert.Throws<DllNotFoundException>(() => OrtLibrary.Resolve(notElf, null, "/app"));
        var notOrt = Assert.Throws<DllNotFoundException>(() => OrtLibrary.Resolve(otherLibrary, null, "/app"));

        Assert.Contains($"explicit path (OnnxRuntime.Initialize): {notElf} → failed to load", notLoadable.Message);
        Assert.Contains("exports no OrtGetApiBase: not an ONNX Runtime library", notOrt.Message);
    }

    [Fact]
    public void The_NuGet_native_layout_and_a_folder_path_are_found()
    {
        using var app = new TemporaryFolder();
        var native = Directory.CreateDirectory(Path.Combine(app.Path, "runtimes", "linux-x64", "native")).FullName;
        // A link, not a copy: the same file loads as the same library instead of a second instance.
        File.CreateSymbolicLink(Path.Combine(native, "libonnxruntime.so.1"), RealLibrary);

        var fromLayout = OrtLibrary.Resolve(null, null, app.Path);
        var fromFolder = OrtLibrary.Resolve(native, null, "/app");

        Assert.Equal(Path.Combine(native, "libonnxruntime.so.1"), fromLayout.LoadedFrom);
        Assert.Equal(Path.Combine(native, "libonnxruntime.so.1"), fromFolder.LoadedFrom);
        Assert.Equal(OnnxRuntime.Version, fromLayout.Version);
        Assert.NotEqual(0, fromLayout.Table);
    }

    [Fact]
    public void Switching_libraries_after_loading_is_refused()
    {
        OnnxRuntime.Initialize();

        var error = Assert.Throws<InvalidOperationException>(() => OnnxRuntime.Initialize("/other/libonnxruntime.so.1"));

        Assert.Contains("can't be switched to '/other/libonnxruntime.so.1'", error.Message);
        OnnxRuntime.Initialize(RealLibrary); // the same library again is fine
    }
}
