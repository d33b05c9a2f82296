using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using InProcServe;

// The GPU check: fraud.onnx and wide.onnx on ExecutionProvider.Cuda against their numpy references, the micro-batcher
// driven for a few seconds on the GPU and on the CPU, and the GPU's memory before load, loaded and after dispose.
// Usage: dotnet InProcServe.GpuCheck.dll [--seconds 10] [--callers 256]
var seconds = 10.0;
var callers = 256;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--callers": callers = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: [--seconds S] [--callers N]"); return 2;
    }
}

Console.WriteLine($"ONNX Runtime {OnnxRuntime.Version} from {OnnxRuntime.LibraryPath}");
Console.WriteLine($"providers: {string.Join(", ", OnnxRuntime.GetAvailableProviders())}");
var failures = 0;
foreach (var (model, input, output) in new[] { ("fraud", "features", "probability"), ("wide", "features", "score") })
{
    var path = Path.Combine(AppContext.BaseDirectory, "models", model + ".onnx");
    var before = GpuMemoryMiB();
    ModelSession gpu;
    try
    {
        gpu = ModelSession.Load(path, new ModelSessionOptions { ExecutionProvider = ExecutionProvider.Cuda() });
    }
    catch (NotSupportedException e)
    {
        Console.WriteLine($"{model}: CUDA not available: {e.Message}");
        return 3;
    }

    var loaded = GpuMemoryMiB();
    failures += CheckReference(gpu, model, input, output);
    var gpuRate = Drive(gpu, model, seconds, callers);
    var afterRuns = GpuMemoryMiB();
    gpu.Dispose();
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var disposed = GpuMemoryMiB();

    using var cpu = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });
    failures += CheckReference(cpu, model, input, output);
    var cpuRate = Drive(cpu, model, seconds, callers);
    Console.WriteLine(
        $"{model}: queued at {callers} callers for {seconds:0} s: GPU {gpuRate:N0} rows/s, CPU (1 intra-op thread) {cpuRate:N0} rows/s, GPU/CPU {gpuRate / cpuRate:0.00}×; " +
        $"GPU memory used (MiB): before load {before}, loaded {loaded}, after the runs {afterRuns}, after dispose {disposed}");
}

Console.WriteLine(failures == 0 ? "every output matched its numpy reference" : $"{failures} outputs differ from their numpy references");
return failures == 0 ? 0 : 1;

// Runs every reference case through the session and counts the outputs off by more than the reference's tolerance.
static int CheckReference(ModelSession session, string model, string input, string output)
{
    using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "models", model + ".reference.json")));
    var tolerance = reference.RootElement.GetProperty("tolerance").GetDouble();
    var bad = 0;
    foreach (var @case in reference.RootElement.GetProperty("cases").EnumerateArray())
    {
        var x = @case.GetProperty("inputs").GetProperty(input);
        var shape = x.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var data = x.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var expected = @case.GetProperty("outputs").GetProperty(output).GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        using var tensor = TensorValue.Create(data, shape);
        using var outputs = session.Run([(input, tensor)]);
        var actual = outputs[output].GetSpan<float>();
        for (var i = 0; i < expected.Length; i++)
        {
            // The GPU's kernels sum in another order: a relative tolerance on top of the reference's absolute one.
            if (Math.Abs(actual[i] - expected[i]) > tolerance + 1e-4 * Math.Abs(expected[i])) bad++;
        }
    }

    Console.WriteLine($"{model} on {session.ExecutionProvider}: {(bad == 0 ? "matches" : $"{bad} values differ from")} the numpy reference");
    return bad;
}

// The micro-batcher for `seconds`: `callers` async callers each queue one row at a time on one lane; rows per second.
static double Drive(ModelSession session, string model, double seconds, int callers) =>
    model == "fraud"
        ? Queue<FraudRow, FraudScore>(session, new FraudRow(Features(30)), seconds, callers)
        : Queue<WideRow, WideScore>(session, new WideRow(Features(256)), seconds, callers);

static float[] Features(int count) => Enumerable.Range(0, count).Select(i => (float)Math.Sin(i)).ToArray();

static double Queue<TInput, TOutput>(ModelSession session, TInput row, double seconds, int callers)
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    using var lane = new ExecutionLane("check", workers: 1);
    var batcher = ModelBatcher.Create<TInput, TOutput>(session, lane, new BatchingOptions { MaxBatchSize = 256, QueueCapacity = Math.Max(1024, callers) });
    var stop = Stopwatch.StartNew();
    long done = 0;
    var tasks = Enumerable.Range(0, callers).Select(async _ =>
    {
        while (stop.Elapsed.TotalSeconds < seconds)
        {
            await batcher.PredictAsync(row);
            Interlocked.Increment(ref done);
        }
    }).ToArray();
    Task.WaitAll(tasks);
    var rate = done / stop.Elapsed.TotalSeconds;
    batcher.DisposeAsync().AsTask().Wait();
    return rate;
}

// nvidia-smi's reading of GPU 0's used memory, or -1 where there is no nvidia-smi.
static long GpuMemoryMiB()
{
    try
    {
        using var smi = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=memory.used --format=csv,noheader,nounits --id=0") { RedirectStandardOutput = true })!;
        var text = smi.StandardOutput.ReadToEnd();
        smi.WaitForExit();
        return long.TryParse(text.Trim(), out var mib) ? mib : -1;
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return -1;
    }
}

/// <summary>A row of fraud.onnx.</summary>
[ModelInput]
public readonly partial record struct FraudRow([Tensor("features", Length = 30)] float[] Features);

/// <summary>fraud.onnx's probability.</summary>
[ModelOutput]
public readonly partial record struct FraudScore([Tensor("probability")] float Value);

/// <summary>A row of wide.onnx.</summary>
[ModelInput]
public readonly partial record struct WideRow([Tensor("features", Length = 256)] float[] Features);

/// <summary>wide.onnx's score.</summary>
[ModelOutput]
public readonly partial record struct WideScore([Tensor("score")] float Value);
