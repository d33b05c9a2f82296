// The app's own ONNX Runtime code and InProcServe in one process: one libonnxruntime mapped, one env, equal answers.
using InProcServe;
using Microsoft.ML.OnnxRuntime;

var path = Path.Combine(AppContext.BaseDirectory, "fraud.onnx");
var features = Enumerable.Range(0, 30).Select(i => (float)Math.Sin(i)).ToArray();

// The app's code, first: it creates the env, which InProcServe then shares.
using var direct = new InferenceSession(path);
using var input = OrtValue.CreateTensorValueFromMemory(features, [1, 30]);
using var results = direct.Run(new RunOptions(), ["features"], [input], ["probability"]);
var fromOrt = results.First().GetTensorDataAsSpan<float>()[0];

using var model = ModelSession.Load(path);
using var tensor = TensorValue.Create(features, [1, 30]);
using var outputs = model.Run([("features", tensor)]);
var fromInProcServe = outputs["probability"].GetSpan<float>()[0];

var mapped = File.ReadLines("/proc/self/maps")
    .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..] : "")
    .Where(file => Path.GetFileName(file).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
    .Distinct()
    .ToArray();
Console.WriteLine($"shared-native app: libonnxruntime mapped {mapped.Length}× ({string.Join(", ", mapped)}); ORT {fromOrt}, InProcServe {fromInProcServe}");
return mapped.Length == 1 && fromOrt == fromInProcServe ? 0 : 1;
