// Loads the fraud-scoring model, prints its signature, scores a few transactions one by one over reused
// buffers, then scores a batch in one run.
// Run: dotnet run --project samples/FraudConsole [-- path/to/model.onnx]
using System.Diagnostics;
using InProcServe;

var path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "fraud.onnx");
using var model = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });

Console.WriteLine($"ONNX Runtime {OnnxRuntime.Version} from {OnnxRuntime.LibraryPath}");
Console.WriteLine($"Model '{model.Name}' v{model.Metadata.Version} by {model.Metadata.ProducerName}");
Console.WriteLine($"  inputs:  {string.Join(", ", model.Inputs)}");
Console.WriteLine($"  outputs: {string.Join(", ", model.Outputs)}");
var threshold = model.Metadata.CustomMetadata.TryGetValue("threshold", out var text) ? float.Parse(text) : 0.5f;

const int Features = 30;
var random = new Random(42);

// One transaction at a time: the tensors wrap these arrays once and are reused for every call.
var features = new float[Features];
var probability = new float[1];
using (var input = TensorValue.Create(features, [1, Features]))
using (var output = TensorValue.Create(probability, [1, 1]))
{
    Console.WriteLine();
    Console.WriteLine("transaction  probability  flagged");
    for (var i = 0; i < 8; i++)
    {
        FillTransaction(features, random);
        model.Run([("features", input)], [("probability", output)]);
        Console.WriteLine($"{i,11}  {probability[0],11:F4}  {(probability[0] >= threshold ? "yes" : "no")}");
    }

    const int Calls = 20_000;
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < Calls; i++)
    {
        model.Run([("features", input)], [("probability", output)]);
    }

    Console.WriteLine($"\nbatch 1: {clock.Elapsed.TotalMicroseconds / Calls:F2} µs per call over {Calls:N0} calls");
}

// A batch in one run, with the output allocated by ONNX Runtime.
const int Rows = 1024;
var batch = new float[Rows * Features];
for (var row = 0; row < Rows; row++)
{
    FillTransaction(batch.AsSpan(row * Features, Features), random);
}

using (var input = TensorValue.Create(batch, [Rows, Features]))
{
    var clock = Stopwatch.StartNew();
    using var outputs = model.Run([("features", input)]);
    var scores = outputs["probability"].GetSpan<float>();
    var flagged = 0;
    foreach (var score in scores)
    {
        if (score >= threshold) flagged++;
    }

    Console.WriteLine($"batch {Rows}: {flagged} of {Rows} flagged, {clock.Elapsed.TotalMilliseconds:F2} ms for the run");
}

// Standardized features with a few larger-scale columns, like the model's training data.
static void FillTransaction(Span<float> row, Random random)
{
    for (var i = 0; i < row.Length; i++)
    {
        var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        row[i] = (float)(gaussian * (i % 7 == 0 ? 2.5 : 1.0));
    }
}
