using System.Reflection;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>
/// Which native ONNX Runtime the process runs on: the official package's by default, one library mapped, a custom
/// build when named, and clear errors when the name is wrong.
/// </summary>
public sealed class OrtEnvironmentTests
{
    private static string PinnedVersion =>
        typeof(OrtEnvironmentTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "OnnxRuntimeVersion").Value!;

    [Fact]
    public void The_official_packages_library_runs_at_the_pinned_version_and_is_the_only_one_mapped()
    {
        OnnxRuntime.Initialize();

        Assert.Equal(PinnedVersion, OnnxRuntime.Version);
        // The test project builds for no RID, so the official package's library stays in its runtimes/<rid>/native folder.
        Assert.StartsWith(Path.Combine(AppContext.BaseDirectory, "runtimes"), OnnxRuntime.LibraryPath);
        Assert.Single(MappedOnnxRuntimes());
        Assert.Contains("CPUExecutionProvider", OnnxRuntime.GetAvailableProviders());
    }

    [Fact]
    public void A_custom_library_named_by_the_environment_variable_is_the_one_that_runs()
    {
        using var folder = new TemporaryFolder();
        OnnxRuntime.Initialize();
        var custom = Path.Combine(folder.Path, "libonnxruntime.so");
        // A link, not a copy: the same file, at a path no official resolver would look at.
        File.CreateSymbolicLink(custom, OnnxRuntime.LibraryPath);

        var child = ChildProcess.Run<OrtEnvironmentTests>(nameof(ScoreFraud), [], new Dictionary<string, string> { ["INPROCSERVE_ONNXRUNTIME"] = folder.Path });

        Assert.Equal(custom, child["library"]);
        Assert.Equal("1", child["mapped"]);
        Assert.Equal(PinnedVersion, child["version"]);
        Assert.Equal("ok", child["scored"]);
    }

    [Fact]
    public void A_wrong_environment_variable_fails_with_the_path_and_the_fix()
    {
        var child = ChildProcess.Run<OrtEnvironmentTests>(nameof(ScoreFraud), [], new Dictionary<string, string> { ["INPROCSERVE_ONNXRUNTIME"] = "/nowhere/libonnxruntime.so" });

        Assert.Contains("DllNotFoundException", child["error"]);
        Assert.Contains("'/nowhere/libonnxruntime.so' (named by the environment variable INPROCSERVE_ONNXRUNTIME): no such file", child["error"]);
        Assert.Contains("official Microsoft.ML.OnnxRuntime packages", child["error"]);
    }

    [Fact]
    public void A_library_that_is_not_ONNX_Runtime_is_named_with_the_reason()
    {
        var otherLibrary = typeof(object).Assembly.Location.Replace("System.Private.CoreLib.dll", "libSystem.Native.so");

        var child = ChildProcess.Run<OrtEnvironmentTests>(nameof(ScoreFraud), [], new Dictionary<string, string> { ["INPROCSERVE_ONNXRUNTIME"] = otherLibrary });

        Assert.Contains("exports no OrtGetApiBase: it is not an ONNX Runtime library", child["error"]);
    }

    [Fact]
    public void Switching_libraries_after_start_is_refused()
    {
        OnnxRuntime.Initialize();

        var error = Assert.Throws<InvalidOperationException>(() => OnnxRuntime.Initialize("/other/libonnxruntime.so"));

        Assert.Contains("can't be switched to '/other/libonnxruntime.so'", error.Message);
        OnnxRuntime.Initialize(); // asking for the library in use again is fine
    }

    [Fact]
    public void An_ONNX_Runtime_failure_becomes_one_OnnxRuntimeException_with_the_C_API_code_and_the_context()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "broken.onnx");
        File.WriteAllBytes(path, "not a protobuf"u8.ToArray());

        var error = Assert.Throws<OnnxRuntimeException>(() => ModelSession.Load(path));

        Assert.Equal(OnnxRuntimeErrorCode.InvalidProtobuf, error.ErrorCode);
        Assert.StartsWith($"Model 'broken': loading '{path}' failed: ", error.Message);
        Assert.DoesNotContain("[ErrorCode:", error.Message);
    }

    /// <summary>Child process: starts ONNX Runtime as configured by the environment, scores the fraud reference and prints what ran.</summary>
    internal static void ScoreFraud(string[] args)
    {
        try
        {
            var reference = TestModels.Reference("fraud");
            using var session = ModelSession.Load(TestModels.Path("fraud"));
            var input = reference.Cases[0].Inputs[0];
            using var tensor = input.ToTensor();
            using var outputs = session.Run([(input.Name, tensor)]);
            reference.Cases[0].Outputs[0].AssertMatches(outputs["probability"], reference.Tolerance);
            Console.WriteLine($"library={OnnxRuntime.LibraryPath}");
            Console.WriteLine($"version={OnnxRuntime.Version}");
            Console.WriteLine($"mapped={MappedOnnxRuntimes().Count}");
            Console.WriteLine("scored=ok");
        }
        catch (Exception e)
        {
            Console.WriteLine($"error={e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    /// <summary>The distinct libonnxruntime files mapped into this process (a library mapped twice would show two).</summary>
    private static IReadOnlyCollection<string> MappedOnnxRuntimes() =>
        File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..] : "")
            .Where(path => Path.GetFileName(path).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
            .Distinct()
            .ToArray();
}
