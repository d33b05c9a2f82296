using System.Globalization;
using InProcServe.Tests.TestSupport;
using Xunit.Abstractions;

namespace InProcServe.Tests.Sessions;

/// <summary>
/// What later sessions of a loaded model cost in resident memory, with and without sharing, for wide.onnx
/// (4.5 MB of Gemm weights). Each figure comes from a fresh process (<see cref="ChildProcess"/>), so memory
/// freed by earlier tests can't hide growth. glibc's allocator runs there with a fixed mmap threshold: by
/// default it raises the threshold after the first large free and then keeps freed load-time buffers (model
/// bytes, the packing a shared session discards) resident, which blurs what sessions hold. Measured here:
/// 4.7 MiB per unshared session, 0.2 MiB per shared one; 8.0 MiB per session arena after a 1,024-row run,
/// 0.2 MiB per session on the shared arena. The bounds below sit halfway or further from both.
/// </summary>
public sealed class SessionSharingMemoryTests(ITestOutputHelper output)
{
    private const int Sessions = 8;
    private const int Rows = 1024;
    private const long MiB = 1 << 20;

    [Fact]
    public void Later_sessions_of_a_model_add_little_memory_when_they_share_its_weights()
    {
        var separate = Measure("separate");
        var shared = Measure("shared-weights");

        // Each unshared session packs its own copy of the weights: a check that the model is big enough to tell.
        Assert.True(separate[^1] - separate[0] > (Sessions - 1) * 3 * MiB, $"{Sessions - 1} unshared sessions added only {(separate[^1] - separate[0]) / (double)MiB:F1} MiB");
        Assert.True(shared[1] - shared[0] < 5 * MiB / 2, $"the second shared session added {(shared[1] - shared[0]) / (double)MiB:F1} MiB");
        Assert.True(shared[^1] - shared[0] < (Sessions - 1) * MiB, $"{Sessions - 1} shared sessions added {(shared[^1] - shared[0]) / (double)MiB:F1} MiB");
    }

    [Fact]
    public void Sessions_on_the_shared_CPU_arena_grow_one_arena_instead_of_one_each()
    {
        var own = Measure("own-arena");
        var shared = Measure("shared-arena");

        Assert.True(own[^1] - own[0] > (Sessions - 1) * 4 * MiB, $"{Sessions - 1} sessions with their own arenas added only {(own[^1] - own[0]) / (double)MiB:F1} MiB");
        Assert.True(shared[^1] - shared[0] < (Sessions - 1) * MiB, $"{Sessions - 1} sessions on the shared arena added {(shared[^1] - shared[0]) / (double)MiB:F1} MiB");
    }

    /// <summary>Child process: loads wide.onnx <see cref="Sessions"/> times, runs each once, prints the resident growth after each.</summary>
    internal static void LoadSessions(string[] args)
    {
        var (options, rows) = args[0] switch
        {
            "separate" => (new ModelSessionOptions { IntraOpThreads = 1 }, 1),
            "shared-weights" => (new ModelSessionOptions { IntraOpThreads = 1, ShareWeights = true }, 1),
            // Weights shared in both arena modes, so the figures differ by the arenas alone.
            "own-arena" => (new ModelSessionOptions { IntraOpThreads = 1, ShareWeights = true, EnableCpuMemoryArena = true }, Rows),
            "shared-arena" => (new ModelSessionOptions { IntraOpThreads = 1, ShareWeights = true, UseSharedCpuArena = true }, Rows),
            var mode => throw new ArgumentException($"Unknown mode '{mode}'."),
        };

        using var input = TensorValue.Create(new float[rows * 256], [rows, 256]);
        // The first session in a process sets up ONNX Runtime's process-wide state; keep that out of the figures.
        ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 }).Dispose();

        var before = ResidentBytes();
        var sessions = new List<ModelSession>();
        for (var i = 1; i <= Sessions; i++)
        {
            sessions.Add(ModelSession.Load(TestModels.Path("wide"), options));
            sessions[^1].Run([("features", input)]).Dispose();
            Console.WriteLine($"after{i}={ResidentBytes() - before}");
        }

        foreach (var session in sessions) session.Dispose();
    }

    /// <summary>Resident growth after each of the <see cref="Sessions"/> loads, in bytes.</summary>
    private long[] Measure(string mode)
    {
        var printed = ChildProcess.Run<SessionSharingMemoryTests>(nameof(LoadSessions), [mode], new Dictionary<string, string> { ["MALLOC_MMAP_THRESHOLD_"] = "131072" });
        var growth = Enumerable.Range(1, Sessions).Select(i => long.Parse(printed[$"after{i}"], CultureInfo.InvariantCulture)).ToArray();
        output.WriteLine($"{mode}: {string.Join(", ", growth.Select((bytes, i) => $"{i + 1}: {bytes / (double)MiB:F1} MiB"))}");
        return growth;
    }

    private static long ResidentBytes()
    {
        // Second field of /proc/self/statm: resident pages.
        var pages = long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], CultureInfo.InvariantCulture);
        return pages * Environment.SystemPageSize;
    }
}
