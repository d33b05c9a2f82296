using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>Runs alone: it reads the process's resident memory, which parallel tests would disturb.</summary>
[CollectionDefinition(nameof(NativeMemoryTests), DisableParallelization = true)]
public sealed class NativeMemoryCollection;

/// <summary>
/// A leak check: thousands of sessions, tensors and ORT-allocated outputs are created and disposed, and
/// the process's resident memory must stay flat. Each leaked session would hold its graph and kernels
/// (about 130 KB), each leaked output 4 KB plus its OrtValue, each leaked pin a 120 KB array. Measured
/// here: 6-7 MiB of growth without a leak, 68 MiB with outputs never released, 26 MiB per 200 sessions
/// never released.
/// </summary>
[Collection(nameof(NativeMemoryTests))]
public sealed class NativeMemoryTests
{
    private const int Rows = 1024;

    [Fact]
    public void Loading_running_and_disposing_repeatedly_does_not_grow_resident_memory()
    {
        var features = new float[Rows * 30];
        Cycle(features, sessions: 50);
        var before = ResidentBytes();

        Cycle(features, sessions: 300);
        var growth = ResidentBytes() - before;

        Assert.True(growth < 32 << 20, $"resident memory grew by {growth >> 20} MiB over 300 sessions and 15,000 runs");
    }

    private static void Cycle(float[] features, int sessions)
    {
        for (var s = 0; s < sessions; s++)
        {
            using var session = ModelSession.Load(TestModels.Path("fraud"), new ModelSessionOptions { IntraOpThreads = 1 });
            for (var run = 0; run < 50; run++)
            {
                // A new array each time: a tensor that failed to unpin would keep every one of them alive.
                var batch = (float[])features.Clone();
                using var input = TensorValue.Create(batch, [Rows, 30]);
                using var outputs = session.Run([("features", input)]);
                Assert.Equal(Rows, outputs["probability"].ElementCount);
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static long ResidentBytes()
    {
        // Second field of /proc/self/statm: resident pages.
        var pages = long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]);
        return pages * Environment.SystemPageSize;
    }
}
