using System.Runtime.InteropServices;
using System.Text;

namespace InProcServe.Native;

/// <summary>
/// Finds and loads the native ONNX Runtime library and reads its API table. Loading happens once per
/// process; the library is never unloaded (ONNX Runtime keeps process-wide state).
/// </summary>
internal static unsafe class OrtLibrary
{
    /// <summary>The environment variable that names the library file (or the folder holding it).</summary>
    internal const string EnvironmentVariable = "INPROCSERVE_ONNXRUNTIME";

    private static readonly Lock Gate = new();
    private static nint table;

    /// <summary>The <c>OrtApi*</c> table; valid only after <see cref="EnsureLoaded"/> returned.</summary>
    internal static nint Table => table;

    /// <summary>The full path (or OS search name) the library was loaded from, or null before loading.</summary>
    internal static string? LoadedFrom { get; private set; }

    /// <summary>The version string the loaded library reports, such as "1.30.0".</summary>
    internal static string? LoadedVersion { get; private set; }

    /// <summary>Loads the library if that has not happened yet.</summary>
    /// <param name="explicitPath">A library file or folder the app configured; when set, only it is tried.</param>
    /// <exception cref="DllNotFoundException">No candidate loaded; the message lists each one and why.</exception>
    /// <exception cref="InvalidOperationException">The library is already loaded from another path.</exception>
    internal static void EnsureLoaded(string? explicitPath = null)
    {
        if (table != 0 && explicitPath is null)
        {
            return;
        }

        lock (Gate)
        {
            if (table != 0)
            {
                if (explicitPath is not null && !SamePath(explicitPath, LoadedFrom))
                {
                    throw new InvalidOperationException(
                        $"ONNX Runtime is already loaded from '{LoadedFrom}'; it can't be switched to '{explicitPath}' in a running process. " +
                        "Call OnnxRuntime.Initialize before the first model is loaded.");
                }

                return;
            }

            var (apiTable, loadedFrom, version) = Resolve(explicitPath, Environment.GetEnvironmentVariable(EnvironmentVariable), AppContext.BaseDirectory);
            LoadedFrom = loadedFrom;
            LoadedVersion = version;
            Volatile.Write(ref table, apiTable);
        }
    }

    /// <summary>Tries each candidate in order and returns the first that loads; changes no state of this class.</summary>
    /// <exception cref="DllNotFoundException">No candidate loaded; the message lists each one and why.</exception>
    internal static (nint Table, string LoadedFrom, string? Version) Resolve(string? explicitPath, string? environmentValue, string appFolder)
    {
        var attempts = new StringBuilder();
        foreach (var (candidate, source, isSearchName) in Candidates(explicitPath, environmentValue, appFolder))
        {
            if (TryLoad(candidate, isSearchName, out var apiTable, out var version, out var failure))
            {
                return (apiTable, candidate, version);
            }

            attempts.Append("  - ").Append(source).Append(": ").Append(candidate).Append(" → ").AppendLine(failure);
        }

        throw new DllNotFoundException(
            $"ONNX Runtime could not be loaded. Tried, in order:{Environment.NewLine}{attempts}" +
            $"To fix: build the app with the InProcServe project or package (its build fetches libonnxruntime into the output folder), " +
            $"set {EnvironmentVariable} to the path of libonnxruntime, or call OnnxRuntime.Initialize(path) before loading a model.");
    }

    /// <summary>
    /// The places to try, in order. An explicit path or the environment variable, when given, is the only
    /// candidate: an app that names a library must not silently run on another one.
    /// </summary>
    internal static IEnumerable<(string Candidate, string Source, bool IsSearchName)> Candidates(string? explicitPath, string? environmentValue, string appFolder)
    {
        if (explicitPath is not null)
        {
            foreach (var file in FilesAt(explicitPath))
            {
                yield return (file, "explicit path (OnnxRuntime.Initialize)", false);
            }

            yield break;
        }

        if (!string.IsNullOrEmpty(environmentValue))
        {
            foreach (var file in FilesAt(environmentValue))
            {
                yield return (file, $"environment variable {EnvironmentVariable}", false);
            }

            yield break;
        }

        foreach (var name in FileNames)
        {
            yield return (Path.Combine(appFolder, name), "app folder", false);
        }

        foreach (var rid in RuntimeIdentifiers())
        {
            foreach (var name in FileNames)
            {
                yield return (Path.Combine(appFolder, "runtimes", rid, "native", name), "NuGet native layout", false);
            }
        }

        foreach (var name in FileNames)
        {
            yield return (name, "OS library search", true);
        }
    }

    /// <summary>A path names either the library file itself or a folder that holds it.</summary>
    private static IEnumerable<string> FilesAt(string path) =>
        Directory.Exists(path) ? FileNames.Select(name => Path.Combine(path, name)) : [path];

    private static string[] FileNames =>
        OperatingSystem.IsWindows() ? ["onnxruntime.dll"]
        : OperatingSystem.IsMacOS() ? ["libonnxruntime.dylib"]
        : ["libonnxruntime.so.1", "libonnxruntime.so"];

    /// <summary>The running RID ("linux-x64") and, when different, the portable one the NuGet layout uses.</summary>
    private static IEnumerable<string> RuntimeIdentifiers()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var portable = $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        var current = RuntimeInformation.RuntimeIdentifier;
        return current == portable ? [portable] : [current, portable];
    }

    private static bool TryLoad(string candidate, bool isSearchName, out nint apiTable, out string? version, out string failure)
    {
        apiTable = 0;
        version = null;
        if (!isSearchName && !File.Exists(candidate))
        {
            failure = "no such file";
            return false;
        }

        nint library;
        try
        {
            library = NativeLibrary.Load(candidate);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            failure = isSearchName ? "not found on the OS library search path" : $"failed to load ({e.Message})";
            return false;
        }

        if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out var getApiBase))
        {
            NativeLibrary.Free(library);
            failure = "loaded, but it exports no OrtGetApiBase: not an ONNX Runtime library";
            return false;
        }

        // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
        var apiBase = ((delegate* unmanaged<nint**>)getApiBase)();
        var getApi = (delegate* unmanaged<uint, nint>)apiBase[0];
        var getVersionString = (delegate* unmanaged<byte*>)apiBase[1];
        version = Marshal.PtrToStringUTF8((nint)getVersionString());
        apiTable = getApi(OrtApi.Version);
        if (apiTable == 0)
        {
            failure = $"ONNX Runtime {version} does not offer API version {OrtApi.Version}; InProcServe needs ONNX Runtime 1.{OrtApi.Version} or later";
            return false;
        }

        failure = "";
        return true;
    }

    private static bool SamePath(string requested, string? loaded) =>
        loaded is not null && FilesAt(requested).Any(file => string.Equals(Path.GetFullPath(file), Path.GetFullPath(loaded), StringComparison.Ordinal));
}
