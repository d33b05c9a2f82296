using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// Process-wide ONNX Runtime state, on the official managed API: which native library the official assembly
/// binds to, and the one <see cref="OrtEnv"/> (with per-session or global thread pools) that InProcServe shares
/// with every other ONNX Runtime user in the process.
/// </summary>
/// <remarks>
/// The native library is the one the official packages put next to the app (Microsoft.ML.OnnxRuntime for the
/// CPU, Microsoft.ML.OnnxRuntime.Gpu.Linux for CUDA), found by the official assembly's own resolver. Only when
/// the app names another file (<see cref="OnnxRuntime.Initialize(string)"/> or <see cref="EnvironmentVariable"/>)
/// does InProcServe take the resolver over, before the official assembly first binds: a process maps one
/// libonnxruntime either way. The env is never released: ONNX Runtime requires it to outlive every session.
/// </remarks>
internal static class OrtEnvironment
{
    /// <summary>The environment variable that names the library file (or the folder holding it).</summary>
    internal const string EnvironmentVariable = "INPROCSERVE_ONNXRUNTIME";

    private static readonly Lock Gate = new();
    private static OrtEnv? env;
    private static bool sharedCpuArena;
    private static string? explicitLibrary;
    private static bool libraryChosen;

    /// <summary>
    /// The intra-op thread count of the global thread pool the env was created with (0: ONNX Runtime's
    /// choice), or null while sessions have their own pools, which is also the case before the env exists.
    /// </summary>
    internal static int? GlobalIntraOpThreads { get; private set; }

    /// <summary>The library file the app named, or null when the official packages' library is used.</summary>
    internal static string? ExplicitLibrary => explicitLibrary;

    /// <summary>The env, created on first use with per-session thread pools unless <see cref="EnsureCreated(int?)"/> came first.</summary>
    internal static OrtEnv Env
    {
        get
        {
            if (Volatile.Read(ref env) is { } created)
            {
                return created;
            }

            lock (Gate)
            {
                return env ?? Create(globalIntraOpThreads: null);
            }
        }
    }

    /// <summary>Creates the env once, with per-session thread pools.</summary>
    internal static void EnsureCreated() => _ = Env;

    /// <summary>
    /// Creates the env with exactly this threading, or checks that the existing env has it: ONNX Runtime
    /// creates its env once per process and ignores the threading asked for later.
    /// </summary>
    /// <param name="globalIntraOpThreads">The global intra-op pool size, or null for per-session pools.</param>
    /// <exception cref="InvalidOperationException">The env already exists with other threading.</exception>
    internal static void EnsureCreated(int? globalIntraOpThreads)
    {
        lock (Gate)
        {
            if (env is null)
            {
                Create(globalIntraOpThreads);
            }
            else if (GlobalIntraOpThreads != globalIntraOpThreads)
            {
                throw new InvalidOperationException(
                    $"The ONNX Runtime environment already exists with {DescribeThreading(GlobalIntraOpThreads)}, so it can't use " +
                    $"{DescribeThreading(globalIntraOpThreads)}: it is created once per process, by the first model load or OnnxRuntime.Initialize call " +
                    "(or by other code of the app that used ONNX Runtime first). Call OnnxRuntime.Initialize with these options at startup, before any model is loaded.");
            }
        }
    }

    /// <summary>
    /// Makes the official assembly bind to <paramref name="libraryPath"/> (a file or a folder holding it), or to the file
    /// <see cref="EnvironmentVariable"/> names when no path is given. Without either, the official packages' library is used.
    /// </summary>
    /// <exception cref="DllNotFoundException">The named file does not exist or is not an ONNX Runtime library.</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime is already bound to another library in this process.</exception>
    internal static void ChooseLibrary(string? libraryPath)
    {
        lock (Gate)
        {
            var (requested, source) = libraryPath is not null
                ? (libraryPath, "OnnxRuntime.Initialize")
                : (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null, $"the environment variable {EnvironmentVariable}");
            if (libraryChosen)
            {
                if (requested is not null && !SameFile(ResolveFile(requested), explicitLibrary))
                {
                    throw new InvalidOperationException(
                        $"ONNX Runtime is already bound to {(explicitLibrary is null ? "the library of the official Microsoft.ML.OnnxRuntime packages" : $"'{explicitLibrary}'")}; " +
                        $"it can't be switched to '{requested}' in a running process. Call OnnxRuntime.Initialize before the first model is loaded.");
                }

                return;
            }

            libraryChosen = true;
            if (requested is null)
            {
                return;
            }

            var file = ResolveFile(requested);
            if (!File.Exists(file))
            {
                throw new DllNotFoundException(
                    $"ONNX Runtime could not be loaded from '{file}' (named by {source}): no such file. Point it at a libonnxruntime " +
                    "(or the folder holding it), or leave it unset to use the library of the official Microsoft.ML.OnnxRuntime packages.");
            }

            nint library;
            try
            {
                library = NativeLibrary.Load(file);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw new DllNotFoundException($"ONNX Runtime could not be loaded from '{file}' (named by {source}): {e.Message}", e);
            }

            if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out _))
            {
                NativeLibrary.Free(library);
                throw new DllNotFoundException($"'{file}' (named by {source}) loaded, but it exports no OrtGetApiBase: it is not an ONNX Runtime library.");
            }

            // The official assembly installs its resolver in the static constructor of its native methods, which no
            // ORT call has run yet (the lock above is taken before any): ours answers in its place with this library.
            OrtEnv.DisableDllImportResolver = true;
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, (name, _, _) => name.Contains("onnxruntime", StringComparison.OrdinalIgnoreCase) ? library : 0);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException(
                    $"ONNX Runtime can't be bound to '{file}': another component already set the native library resolver of Microsoft.ML.OnnxRuntime.", e);
            }

            explicitLibrary = file;
        }
    }

    /// <summary>
    /// Registers one CPU arena with the env the first time a session asks to share it; sessions created with
    /// <c>session.use_env_allocators</c> then allocate from it instead of their own. It lives as long as the env.
    /// </summary>
    internal static void EnsureSharedCpuArena()
    {
        var created = Env;
        lock (Gate)
        {
            if (!sharedCpuArena)
            {
                // Default arena configuration: ONNX Runtime's (no limit, grow by powers of two). The allocator copies it,
                // so the native config is released here instead of waiting for a finalizer.
                using var arena = new OrtArenaCfg(0, -1, -1, -1);
                OrtErrors.Run(() => created.CreateAndRegisterAllocator(OrtMemoryInfo.DefaultInstance, arena), "Registering the shared CPU arena");
                sharedCpuArena = true;
            }
        }
    }

    /// <summary>The path of the libonnxruntime mapped into this process, read from /proc/self/maps where there is one.</summary>
    internal static string? MappedLibrary()
    {
        if (explicitLibrary is not null) return explicitLibrary;
        if (!OperatingSystem.IsLinux()) return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/');
            if (slash >= 0 && Path.GetFileName(line.AsSpan(slash)).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
            {
                return line[slash..];
            }
        }

        return null;
    }

    private static OrtEnv Create(int? globalIntraOpThreads)
    {
        ChooseLibrary(null);
        OrtEnv created;
        if (OrtEnv.IsCreated)
        {
            // Other code of the app created the env first: share it. Its thread pools are unknown, so only per-session pools fit.
            if (globalIntraOpThreads is not null)
            {
                throw new InvalidOperationException(
                    $"The ONNX Runtime environment was already created by other code of the app, so it can't use {DescribeThreading(globalIntraOpThreads)}. " +
                    "Call OnnxRuntime.Initialize with these options at startup, before anything uses ONNX Runtime.");
            }

            created = OrtEnv.Instance();
        }
        else if (globalIntraOpThreads is { } intraOpThreads)
        {
            using var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = intraOpThreads,
                // The inter-op pool only serves sessions in parallel execution mode, which per-session thread
                // settings choose and global pools exclude: 1 creates no threads instead of one per core.
                GlobalInterOpNumThreads = 1,
            };
            var options = new EnvironmentCreationOptions { logId = "InProcServe", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, threadOptions = threading };
            created = OrtErrors.Run(() => OrtEnv.CreateInstanceWithOptions(ref options), "Creating the ONNX Runtime environment with global thread pools");
        }
        else
        {
            // Warnings are left out: ONNX Runtime writes them, colored, to stderr; every error that
            // matters to a caller comes back as an exception.
            var options = new EnvironmentCreationOptions { logId = "InProcServe", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            created = OrtErrors.Run(() => OrtEnv.CreateInstanceWithOptions(ref options), "Creating the ONNX Runtime environment");
        }

        GlobalIntraOpThreads = globalIntraOpThreads;
        Volatile.Write(ref env, created);
        return created;
    }

    private static string ResolveFile(string path) =>
        Path.GetFullPath(Directory.Exists(path)
            ? Path.Combine(path, OperatingSystem.IsWindows() ? "onnxruntime.dll" : OperatingSystem.IsMacOS() ? "libonnxruntime.dylib" : "libonnxruntime.so")
            : path);

    private static bool SameFile(string a, string? b) =>
        b is not null && string.Equals(a, b, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static string DescribeThreading(int? globalIntraOpThreads) => globalIntraOpThreads switch
    {
        null => "per-session thread pools",
        0 => "global thread pools (intra-op threads: ONNX Runtime's choice)",
        var threads => $"global thread pools ({threads} intra-op threads)",
    };
}
