using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using InProcServe.Cli.Inspect;
using InProcServe.Cli.Onnx;
using Spectre.Console;

namespace InProcServe.Cli.Quantize;

/// <summary>
/// <c>inprocserve quantize MODEL.onnx -o OUT.onnx</c>: dynamic int8 quantization of MatMul/Gemm weights, checked by running
/// both models on the same inputs, with a size, accuracy and latency report.
/// </summary>
internal static class QuantizeCommand
{
    /// <summary>The default largest absolute output difference accepted: int8 weights move a unit-scale output by about 1e-2.</summary>
    internal const double DefaultTolerance = 0.05;

    internal static Command Create(IAnsiConsole console)
    {
        var model = new Argument<string>("model") { Description = "The float32 .onnx model." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the quantized model.", Required = true };
        var samples = new Option<int>("--samples") { Description = "Generated inputs (batch 1 each) to compare the two models on.", DefaultValueFactory = _ => 100 };
        var inputData = new Option<string?>("--input-data") { Description = "Compare on these inputs instead: a models/*.reference.json file or {\"inputs\": {NAME: {type, shape, data}}}." };
        var shape = new Option<string[]>("--shape") { Description = "NAME=d0,d1,…: the shape of an input with dynamic dimensions other than the batch.", AllowMultipleArgumentsPerToken = false };
        var tolerance = new Option<double>("--tolerance") { Description = "The largest absolute output difference accepted; above it the command fails (exit code 2), keeping the file.", DefaultValueFactory = _ => DefaultTolerance };
        var command = new Command("quantize",
            "Post-training dynamic int8 quantization: the constant float32 weights of MatMul and Gemm nodes become int8 with a scale per column " +
            "(com.microsoft DynamicQuantizeMatMul; activations are quantized per call). Reports size before and after, the largest and mean " +
            "absolute output difference from the float model, and latency at batch 1 and 64.")
        {
            model, output, samples, inputData, shape, tolerance,
        };
        command.SetAction(result => CliCommand.Run(console, () => Run(
            console,
            result.GetRequiredValue(model),
            result.GetRequiredValue(output),
            result.GetValue(samples),
            result.GetValue(inputData),
            ModelInputs.ParseShapes(result.GetValue(shape) ?? []),
            result.GetValue(tolerance))));
        return command;
    }

    /// <summary>Quantizes, checks and reports; returns 0, or 2 when the outputs differ by more than <paramref name="tolerance"/>.</summary>
    internal static int Run(IAnsiConsole console, string path, string outputPath, int samples, string? inputData, Dictionary<string, long[]> shapes, double tolerance)
    {
        if (samples < 1) throw new CliException($"--samples is {samples}; it must be at least 1.");
        // The float model is loaded after the quantized one is written, to compare the two: it must still be there.
        if (string.Equals(Path.GetFullPath(path), Path.GetFullPath(outputPath), StringComparison.Ordinal))
        {
            throw new CliException($"-o '{outputPath}' is the model itself; write the quantized model to another file.");
        }

        var proto = OnnxModelFile.Read(path);
        var nodes = DynamicQuantizer.Quantize(proto);
        var bytes = proto.ToByteArray();
        File.WriteAllBytes(outputPath, bytes);

        var before = new FileInfo(path).Length;
        console.MarkupLineInterpolated($"[bold]{Path.GetFileName(path)}[/] → [bold]{outputPath}[/]");
        foreach (var node in nodes)
        {
            if (node.Reason is null) console.WriteLine($"  quantized {node.Node} ({node.Weight})");
            else console.WriteLine($"  left as float: {node.Node} ({node.Weight}): {node.Reason}");
        }

        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Size: {InspectCommand.Size(before)} → {InspectCommand.Size(bytes.Length)} ({100.0 * bytes.Length / before:F1}%)"));

        // One intra-op thread, as InProcServe serves: latency then measures the kernels, not the thread pool.
        var options = new ModelSessionOptions { IntraOpThreads = 1 };
        using var original = ModelSession.Load(path, options);
        using var quantized = LoadQuantized(bytes, outputPath, options);

        var cases = inputData is not null
            ? [ModelInputs.Read(inputData, original)]
            : Enumerable.Range(0, samples).Select(i => ModelInputs.Generate(original, 1, shapes, seed: i)).ToList();
        var difference = Compare(original, quantized, cases);
        var within = difference.Max <= tolerance;
        var mismatches = difference.Mismatched > 0 ? $", {difference.Mismatched} of {difference.Compared} non-float elements differ" : "";
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Accuracy on {(inputData is null ? $"{samples} generated inputs" : inputData)}: max |Δ| {difference.Max:G4}, mean |Δ| {difference.Mean:G4} over {difference.Elements} output elements{mismatches}"));
        console.MarkupLine(within
            ? string.Create(CultureInfo.InvariantCulture, $"  [green]within[/] the tolerance {tolerance:G4}")
            : string.Create(CultureInfo.InvariantCulture, $"  [red]over[/] the tolerance {tolerance:G4}: the quantized model is written but its accuracy was not accepted"));

        var latency = new Table().Border(TableBorder.Simple).AddColumns("batch", "float p50", "int8 p50", "speed-up");
        foreach (var batch in BatchSizes(original))
        {
            var inputs = ModelInputs.Generate(original, batch, shapes);
            var (floatMicros, intMicros) = Latency.Alternating(original, quantized, inputs, TimeSpan.FromSeconds(1));
            latency.AddRow(
                batch.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{floatMicros:F1} µs"),
                string.Create(CultureInfo.InvariantCulture, $"{intMicros:F1} µs"),
                string.Create(CultureInfo.InvariantCulture, $"{floatMicros / intMicros:F2}×"));
        }

        console.WriteLine("Latency (one intra-op thread, median of runs alternating between the models):");
        console.Write(latency);
        return within ? 0 : 2;
    }

    private static ModelSession LoadQuantized(byte[] bytes, string path, ModelSessionOptions options)
    {
        try
        {
            return ModelSession.Load(bytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CliException($"ONNX Runtime {OnnxRuntime.Version} can't load the quantized model written to '{path}': {e.Message}");
        }
    }

    /// <summary>Batch 1 and 64 when the model takes a batch; 1 alone when its inputs fix their first dimension.</summary>
    private static int[] BatchSizes(ModelSession session) =>
        session.Inputs.Any(i => i.Shape.Length > 0 && i.Shape[0] < 0) ? [1, 64] : [1];

    /// <summary>The absolute differences between two models' outputs on the same inputs.</summary>
    internal sealed record Difference(double Max, double Mean, long Elements, long Mismatched, long Compared);

    internal static Difference Compare(ModelSession expected, ModelSession actual, IReadOnlyList<Dictionary<string, HostTensor>> cases)
    {
        double max = 0, sum = 0;
        long elements = 0, mismatched = 0, compared = 0;
        foreach (var inputs in cases)
        {
            var a = RunOnce(expected, inputs);
            var b = RunOnce(actual, inputs);
            foreach (var output in expected.Outputs)
            {
                var x = a[output.Name];
                var y = b[output.Name];
                if (!x.Shape.AsSpan().SequenceEqual(y.Shape))
                {
                    throw new CliException($"Output '{output.Name}' has shape {TensorText.Shape(x.Shape)} from the float model but {TensorText.Shape(y.Shape)} from the quantized one.");
                }

                var (dx, dy) = (x.ToDoubles(), y.ToDoubles());
                var isFloat = output.ElementType is TensorElementType.Float or TensorElementType.Double or TensorElementType.Float16;
                for (var i = 0; i < x.Data.Length; i++)
                {
                    if (isFloat)
                    {
                        var d = Math.Abs(dx![i] - dy![i]);
                        // NaN where the other model has a number counts as an infinite difference.
                        if (double.IsNaN(d)) d = double.IsNaN(dx[i]) && double.IsNaN(dy[i]) ? 0 : double.PositiveInfinity;
                        max = Math.Max(max, d);
                        sum += d;
                        elements++;
                    }
                    else
                    {
                        compared++;
                        if (!Equals(x.Data.GetValue(i), y.Data.GetValue(i))) mismatched++;
                    }
                }
            }
        }

        return new Difference(max, elements == 0 ? 0 : sum / elements, elements, mismatched, compared);
    }

    /// <summary>Runs a model on host inputs and copies every output out.</summary>
    internal static Dictionary<string, HostTensor> RunOnce(ModelSession session, IReadOnlyDictionary<string, HostTensor> inputs)
    {
        var values = session.Inputs.Select(i => new NamedTensor(i.Name, inputs[i.Name].ToTensorValue())).ToArray();
        try
        {
            using var outputs = session.Run(values);
            return outputs.ToDictionary(o => o.Name, o => HostTensor.From(o.Value), StringComparer.Ordinal);
        }
        finally
        {
            foreach (var value in values) value.Value.Dispose();
        }
    }
}
