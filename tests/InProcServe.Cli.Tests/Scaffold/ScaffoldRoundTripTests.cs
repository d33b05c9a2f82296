using System.Reflection;
using System.Text.Json;
using InProcServe.Cli.Quantize;
using InProcServe.Cli.Scaffold;
using InProcServe.Cli.Tests.TestSupport;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Cli.Tests.Scaffold;

/// <summary>
/// Every committed model and Silero VAD scaffolded, compiled with the source generator as written, and run: the contracts through
/// <see cref="ModelRunner.Create{TInput, TOutput}"/>, the session wrappers call by call, against the numpy
/// references (or, for Silero, a plain session run).
/// </summary>
public sealed class ScaffoldRoundTripTests
{
    public static TheoryData<string, string[], bool> CommittedModels => new()
    {
        { "fraud", [], true },
        { "fraud_retrained", [], true },
        { "multi_io", [], true },
        { "all_types", [], true },
        { "images", [], true },
        { "slow_rows", [], true },
        { "wide", [], true },
        { "dynamic", ["--shape", "x=1,5"], true },
        // No contract fits these; each gets the session wrapper.
        { "dynamic", [], false },
        { "fixed", [], false },
        { "strings", [], false },
        { "slow", [], false },
    };

    [Theory]
    [MemberData(nameof(CommittedModels))]
    public void Scaffolded_code_compiles_and_answers_as_the_reference(string model, string[] options, bool contract)
    {
        using var folder = new TemporaryFolder();
        var name = ContractScaffolder.Identifier(model);
        var (exitCode, output) = CliHarness.Run(["scaffold", TestModels.Path(model), "--out", folder.Path, "--namespace", "Scaffolded.Models", .. options]);
        Assert.True(exitCode == 0, output);
        Assert.Equal(contract, !output.Contains("No typed contract", StringComparison.Ordinal));
        var assembly = ContractCompiler.CompileAndLoad(File.ReadAllText(Path.Combine(folder.Path, name + "Model.cs")), $"{model}{options.Length}");

        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Folder, model + ".reference.json")));
        var tolerance = document.RootElement.GetProperty("tolerance").GetDouble();
        using var session = ModelSession.Load(TestModels.Path(model));
        var compared = 0;
        foreach (var json in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            var inputs = Tensors(json.GetProperty("inputs"));
            var expected = Tensors(json.GetProperty("outputs"));
            if (contract)
            {
                compared += RunContract(assembly, name, session, inputs, expected, tolerance);
            }
            else
            {
                var actual = RunWrapper(assembly, name, TestModels.Path(model), session, inputs);
                foreach (var (outputName, tensor) in expected) AssertClose(tensor, actual[outputName], tolerance, $"{model} output '{outputName}'");
                compared++;
            }
        }

        Assert.True(compared > 0, $"No reference case of {model} fits the scaffolded contract.");
    }

    [Fact]
    public void Silero_VAD_gets_a_session_wrapper_that_answers_as_the_session()
    {
        using var folder = new TemporaryFolder();
        var path = NpmModels.SileroVad;
        var (exitCode, output) = CliHarness.Run("scaffold", path, "--out", folder.Path, "--name", "Silero", "--namespace", "Scaffolded.Vad");
        Assert.True(exitCode == 0, output);
        // sr is an int64 scalar and state's first dimension is the LSTM's 2, not a batch: no contract can bind them.
        Assert.Contains("input 'sr' int64[]: a scalar", output, StringComparison.Ordinal);
        Assert.Contains("input 'state' float32[2,", output, StringComparison.Ordinal);
        var assembly = ContractCompiler.CompileAndLoad(File.ReadAllText(Path.Combine(folder.Path, "SileroModel.cs")), "silero");

        using var session = ModelSession.Load(path);
        var random = new Random(7);
        var inputs = new Dictionary<string, HostTensor>
        {
            ["input"] = new(TensorElementType.Float, [1, 512], Enumerable.Range(0, 512).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()),
            ["state"] = new(TensorElementType.Float, [2, 1, 128], new float[256]),
            ["sr"] = new(TensorElementType.Int64, [], new[] { 16000L }),
        };
        var expected = QuantizeCommand.RunOnce(session, inputs);
        var actual = RunWrapper(assembly, "Silero", path, session, inputs);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected) AssertClose(tensor, actual[name], 0, $"Silero output '{name}'");
    }

    [Fact]
    public void A_batch_fixed_at_1_still_gets_a_contract()
    {
        // As openwakeword's heads declare theirs ([1,25,96] in, [1,1] out): here an Identity of [1,2,3] and a ReduceSum to [1].
        using var folder = new TemporaryFolder();
        var graph = new Onnx.GraphProto { Name = "fixed_one" };
        graph.Input.Add(Value("x", 1, 2, 3));
        graph.Output.Add(Value("y", 1, 2, 3));
        graph.Output.Add(Value("total", 1));
        graph.Node.Add(new Onnx.NodeProto { OpType = "Identity", Input = { "x" }, Output = { "y" } });
        var axes = new Onnx.TensorProto { Name = "axes", DataType = 7, Dims = { 2 }, Int64Data = { 1, 2 } };
        graph.Initializer.Add(axes);
        graph.Node.Add(new Onnx.NodeProto
        {
            OpType = "ReduceSum", Input = { "x", "axes" }, Output = { "total" },
            Attribute = { new Onnx.AttributeProto { Name = "keepdims", Type = Onnx.AttributeProto.Types.AttributeType.Int, I = 0 } },
        });
        var model = new Onnx.ModelProto { IrVersion = 8, Graph = graph, OpsetImport = { new Onnx.OperatorSetIdProto { Version = 17 } } };
        var path = Path.Combine(folder.Path, "fixed_one.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));

        var (exitCode, output) = CliHarness.Run("scaffold", path, "--out", folder.Path, "--name", "FixedOne", "--namespace", "Scaffolded.Fixed");

        Assert.True(exitCode == 0, output);
        Assert.False(output.Contains("No typed contract", StringComparison.Ordinal), output);
        var source = File.ReadAllText(Path.Combine(folder.Path, "FixedOneModel.cs"));
        Assert.Contains("[Tensor(\"x\", Shape = [2, 3])] float[] X", source, StringComparison.Ordinal);
        var assembly = ContractCompiler.CompileAndLoad(source, "fixed_one");
        using var session = ModelSession.Load(path);
        var x = new HostTensor(TensorElementType.Float, [1, 2, 3], new float[] { 1, 2, 3, 4, 5, 6 });
        var expected = new Dictionary<string, HostTensor>
        {
            ["y"] = x,
            ["total"] = new(TensorElementType.Float, [1], new float[] { 21 }),
        };
        Assert.Equal(1, RunContract(assembly, "FixedOne", session, new Dictionary<string, HostTensor> { ["x"] = x }, expected, 0));
    }

    private static Onnx.ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new Onnx.TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new Onnx.TensorShapeProto.Types.Dimension { DimValue = d });
        return new Onnx.ValueInfoProto { Name = name, Type = new Onnx.TypeProto { TensorType = new Onnx.TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    /// <summary>Predicts a case's rows through the contract, in one call; returns 1, or 0 when the case's shapes don't fit the contract.</summary>
    private static int RunContract(Assembly assembly, string name, ModelSession session, Dictionary<string, HostTensor> inputs, Dictionary<string, HostTensor> expected, double tolerance)
    {
        var inputType = assembly.GetTypes().Single(t => t.Name == name + "Input");
        var outputType = assembly.GetTypes().Single(t => t.Name == name + "Output");
        var parameters = inputType.GetConstructors().Single().GetParameters();
        var rowLengths = parameters.ToDictionary(p => p, p => RowLength(p));
        if (parameters.Any(p => p.ParameterType.IsArray && RowLength(inputs[TensorName(p)]) != rowLengths[p])) return 0;

        // All rows in one call, as the reference computed them: slow_rows repeats every row max(iterations) times.
        var rows = (int)inputs.Values.First().Shape[0];
        var batch = Array.CreateInstance(inputType, rows);
        for (var row = 0; row < rows; row++)
        {
            batch.SetValue(Activator.CreateInstance(inputType, parameters.Select(p => Row(inputs[TensorName(p)], row, p.ParameterType)).ToArray()), row);
        }

        var results = (Array)typeof(ScaffoldRoundTripTests).GetMethod(nameof(PredictAll), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(inputType, outputType).Invoke(null, [session, batch])!;
        for (var row = 0; row < rows; row++)
        {
            foreach (var p in outputType.GetConstructors().Single().GetParameters())
            {
                var value = outputType.GetProperty(p.Name!)!.GetValue(results.GetValue(row))!;
                var reference = Row(expected[TensorName(p)], row, p.ParameterType);
                AssertClose(Flat(reference), Flat(value), tolerance, $"{name} row {row}, {p.Name}");
            }
        }

        return 1;
    }

    private static TOutput[] PredictAll<TInput, TOutput>(ModelSession session, TInput[] inputs)
        where TInput : IModelInput<TInput>
        where TOutput : IModelOutput<TOutput>
    {
        using var runner = ModelRunner.Create<TInput, TOutput>(session, maxBatchSize: Math.Max(1, inputs.Length));
        var outputs = new TOutput[inputs.Length];
        runner.Predict(inputs, outputs);
        return outputs;
    }

    /// <summary>Runs the wrapper once; its record parameters follow the model's tensors in order: data, then a shape when the model leaves it open.</summary>
    private static Dictionary<string, HostTensor> RunWrapper(Assembly assembly, string name, string path, ModelSession session, Dictionary<string, HostTensor> inputs)
    {
        var inputsType = assembly.GetTypes().Single(t => t.Name == name + "Inputs");
        var outputsType = assembly.GetTypes().Single(t => t.Name == name + "Outputs");
        var modelType = assembly.GetTypes().Single(t => t.Name == name + "Model");
        var parameters = inputsType.GetConstructors().Single().GetParameters();
        var arguments = new List<object?>();
        foreach (var input in session.Inputs)
        {
            var tensor = inputs[input.Name];
            arguments.Add(input.Shape.Length == 0 ? tensor.Data.GetValue(0) : tensor.Data);
            if (parameters.Length > arguments.Count && parameters[arguments.Count].Name!.EndsWith("Shape", StringComparison.Ordinal) && parameters[arguments.Count].ParameterType == typeof(long[]))
            {
                arguments.Add(tensor.Shape);
            }
        }

        Assert.Equal(parameters.Length, arguments.Count);
        using var model = (IDisposable)Activator.CreateInstance(modelType, [path, null])!;
        var result = modelType.GetMethod("Run")!.Invoke(model, [Activator.CreateInstance(inputsType, [.. arguments]), CancellationToken.None])!;

        var outputs = new Dictionary<string, HostTensor>();
        var properties = outputsType.GetConstructors().Single().GetParameters().Select(p => outputsType.GetProperty(p.Name!)!).ToList();
        var next = 0;
        foreach (var output in session.Outputs)
        {
            var value = properties[next++].GetValue(result)!;
            var data = value as Array ?? Flat(value);
            var shape = output.Shape.Length == 0 ? []
                : next < properties.Count && properties[next].Name.EndsWith("Shape", StringComparison.Ordinal) && properties[next].PropertyType == typeof(long[]) ? (long[])properties[next++].GetValue(result)!
                : [.. output.Shape];
            outputs[output.Name] = new HostTensor(output.ElementType, shape, data);
        }

        return outputs;
    }

    private static string TensorName(ParameterInfo parameter) => parameter.GetCustomAttribute<TensorAttribute>()!.Name;

    private static int RowLength(ParameterInfo parameter)
    {
        var attribute = parameter.GetCustomAttribute<TensorAttribute>()!;
        return attribute.Shape is { } shape ? shape.Aggregate(1, (p, d) => p * d) : Math.Max(1, attribute.Length);
    }

    private static long RowLength(HostTensor tensor) => tensor.Shape.Skip(1).Aggregate(1L, (p, d) => p * d);

    /// <summary>Row <paramref name="row"/> of a tensor, as the member type holds it: an array for vectors, one value for scalars.</summary>
    private static object Row(HostTensor tensor, int row, Type type)
    {
        var length = (int)RowLength(tensor);
        if (!type.IsArray) return tensor.Data.GetValue(row * length)!;
        var slice = Array.CreateInstance(type.GetElementType()!, length);
        Array.Copy(tensor.Data, row * length, slice, 0, length);
        return slice;
    }

    private static Array Flat(object value)
    {
        if (value is Array array) return array;
        var single = Array.CreateInstance(value.GetType(), 1);
        single.SetValue(value, 0);
        return single;
    }

    private static void AssertClose(HostTensor expected, HostTensor actual, double tolerance, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape {TensorText.Shape(actual.Shape)}, expected {TensorText.Shape(expected.Shape)}.");
        AssertClose(expected.Data, actual.Data, tolerance, what);
    }

    private static void AssertClose(Array expected, Array actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} elements, expected {expected.Length}.");
        Assert.Equal(expected.GetType().GetElementType(), actual.GetType().GetElementType());
        for (var i = 0; i < expected.Length; i++)
        {
            var (e, a) = (expected.GetValue(i)!, actual.GetValue(i)!);
            if (e is float or double or Half)
            {
                var (x, y) = (ToDouble(e), ToDouble(a));
                Assert.True(Math.Abs(x - y) <= tolerance || (double.IsNaN(x) && double.IsNaN(y)), $"{what}[{i}]: {y}, expected {x} ± {tolerance}.");
            }
            else
            {
                Assert.True(e.Equals(a), $"{what}[{i}]: {a}, expected {e}.");
            }
        }
    }

    private static double ToDouble(object value) => value switch { Half h => (double)h, float f => f, _ => (double)value };

    private static Dictionary<string, HostTensor> Tensors(JsonElement json) =>
        json.EnumerateObject().ToDictionary(p => p.Name, p => HostTensor.FromJson(p.Name, p.Value));
}
