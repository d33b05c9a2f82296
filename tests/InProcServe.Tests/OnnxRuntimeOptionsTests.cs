using System.Globalization;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests;

/// <summary>
/// Process-wide settings. The environment is created once per process, and this test process has one long
/// before these tests run, so global thread pools are tried in fresh processes (<see cref="ChildProcess"/>).
/// </summary>
public sealed class OnnxRuntimeOptionsTests
{
    private const int Sessions = 8;
    private const int Threads = 4;

    [Fact]
    public void Global_thread_pools_asked_for_after_the_environment_exists_are_refused_with_what_to_do()
    {
        OnnxRuntime.Initialize();

        var error = Assert.Throws<InvalidOperationException>(() => OnnxRuntime.Initialize(new OnnxRuntimeOptions { UseGlobalThreadPools = true }));

        Assert.Equal(
            "The ONNX Runtime environment already exists with per-session thread pools, so it can't use global thread pools " +
            "(intra-op threads: ONNX Runtime's choice): it is created once per process, by the first model load or OnnxRuntime.Initialize call " +
            "(or by other code of the app that used ONNX Runtime first). " +
            "Call OnnxRuntime.Initialize with these options at startup, before any model is loaded.",
            error.Message);
        OnnxRuntime.Initialize(new OnnxRuntimeOptions()); // What the environment already has: nothing to do.
    }

    [Fact]
    public void Invalid_options_are_named_in_one_message()
    {
        var error = Assert.Throws<ArgumentException>(() => OnnxRuntime.Initialize(new OnnxRuntimeOptions { LibraryPath = "", GlobalIntraOpThreads = -1 }));
        var unused = Assert.Throws<ArgumentException>(() => OnnxRuntime.Initialize(new OnnxRuntimeOptions { GlobalIntraOpThreads = 2 }));

        Assert.Equal(
            $"Invalid ONNX Runtime options:{Environment.NewLine}" +
            $"  - LibraryPath is empty; leave it null to use the official packages' library.{Environment.NewLine}" +
            "  - GlobalIntraOpThreads is -1; it must be 0 (default) or more. (Parameter 'options')",
            error.Message);
        Assert.Contains("GlobalIntraOpThreads is 2 but UseGlobalThreadPools is false", unused.Message);
    }

    [Fact]
    public void Sessions_on_global_thread_pools_start_no_threads_of_their_own()
    {
        var perSession = ChildProcess.Run<OnnxRuntimeOptionsTests>(nameof(LoadSessions), "per-session");
        var global = ChildProcess.Run<OnnxRuntimeOptionsTests>(nameof(LoadSessions), "global");

        // Per-session pools: each session starts Threads - 1 workers (the caller is the last one).
        Assert.True(Count(perSession, "sessions") >= Sessions * (Threads - 1), $"{Sessions} sessions with their own pools started {Count(perSession, "sessions")} threads");
        Assert.True(Count(global, "environment") >= Threads - 1, $"the global pool started {Count(global, "environment")} threads");
        Assert.True(Count(global, "sessions") < Threads, $"{Sessions} sessions on the global pools started {Count(global, "sessions")} threads");
        Assert.Contains("global thread pools (OnnxRuntimeOptions.UseGlobalThreadPools)", global["rejected"]);
    }

    /// <summary>
    /// Child process: creates the environment with per-session or global thread pools, loads and runs
    /// <see cref="Sessions"/> fraud sessions, and prints how many threads each step started.
    /// </summary>
    internal static void LoadSessions(string[] args)
    {
        var global = args[0] == "global";
        var start = ThreadCount();
        OnnxRuntime.Initialize(new OnnxRuntimeOptions { UseGlobalThreadPools = global, GlobalIntraOpThreads = global ? Threads : 0 });
        var afterEnvironment = ThreadCount();
        var options = new ModelSessionOptions { IntraOpThreads = global ? 0 : Threads };
        var reference = TestModels.Reference("fraud");
        var sessions = Enumerable.Range(0, Sessions).Select(_ => ModelSession.Load(TestModels.Path("fraud"), options)).ToList();
        foreach (var session in sessions)
        {
            var input = reference.Cases[0].Inputs[0];
            using var tensor = input.ToTensor();
            using var outputs = session.Run([(input.Name, tensor)]);
            reference.Cases[0].Outputs[0].AssertMatches(outputs["probability"], reference.Tolerance);
        }

        Console.WriteLine($"environment={afterEnvironment - start}");
        Console.WriteLine($"sessions={ThreadCount() - afterEnvironment}");
        if (global)
        {
            var error = Assert.Throws<ArgumentException>(() => ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 2 }));
            Console.WriteLine($"rejected={error.Message.ReplaceLineEndings(" ")}");
        }

        foreach (var session in sessions) session.Dispose();
    }

    private static int Count(IReadOnlyDictionary<string, string> printed, string key) => int.Parse(printed[key], CultureInfo.InvariantCulture);

    private static int ThreadCount() => Directory.GetDirectories("/proc/self/task").Length;
}
