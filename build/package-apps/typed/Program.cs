// A typed prediction through the InProcServe package, checked against the numpy reference committed beside the model.
using System.Text.Json;
using InProcServe;

using var model = ModelSession.Load(Path.Combine(AppContext.BaseDirectory, "fraud.onnx"), new ModelSessionOptions { IntraOpThreads = 1 });
using var runner = ModelRunner.Create<Transaction, FraudScore>(model);

using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fraud.reference.json")));
var tolerance = reference.RootElement.GetProperty("tolerance").GetDouble();
var checkedRows = 0;
foreach (var @case in reference.RootElement.GetProperty("cases").EnumerateArray())
{
    var features = @case.GetProperty("inputs").GetProperty("features").GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
    var expected = @case.GetProperty("outputs").GetProperty("probability").GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
    for (var row = 0; row < expected.Length; row++)
    {
        var score = runner.Predict(new Transaction(features[(row * 30)..((row + 1) * 30)]));
        if (Math.Abs(score.Probability - expected[row]) > tolerance)
        {
            Console.Error.WriteLine($"row {row}: InProcServe {score.Probability}, numpy {expected[row]}");
            return 1;
        }

        checkedRows++;
    }
}

Console.WriteLine($"typed app: {checkedRows} rows match the numpy reference on ONNX Runtime {OnnxRuntime.Version} ({OnnxRuntime.LibraryPath})");
return 0;

[ModelInput]
public readonly partial record struct Transaction([Tensor("features", Length = 30)] float[] Features);

[ModelOutput]
public readonly partial record struct FraudScore([Tensor("probability")] float Probability);
