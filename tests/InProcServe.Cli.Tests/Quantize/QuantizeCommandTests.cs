using System.Text.Json;
using Google.Protobuf;
using InProcServe.Cli.Onnx;
using InProcServe.Cli.Quantize;
using InProcServe.Cli.Tests.TestSupport;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Cli.Tests.Quantize;

public sealed class QuantizeCommandTests
{
    [Fact]
    public void Wide_model_quantizes_to_under_30_percent_within_the_tolerance_of_the_float_model()
    {
        using var folder = new TemporaryFolder();
        var output = Path.Combine(folder.Path, "wide.int8.onnx");
        var (exitCode, report) = CliHarness.Run("quantize", TestModels.Path("wide"), "-o", output, "--samples", "50");

        Assert.True(exitCode == 0, report);
        var ratio = (double)new FileInfo(output).Length / new FileInfo(TestModels.Path("wide")).Length;
        Assert.True(ratio <= 0.30, $"The quantized model is {ratio:P1} of the float one.\n{report}");
        var quantized = OnnxModelFile.Read(output);
        Assert.Equal(3, quantized.Graph.Node.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == "com.microsoft"));
        Assert.DoesNotContain(quantized.Graph.Node, n => n.OpType == "Gemm");
        Assert.Contains("within the tolerance 0.05", report, StringComparison.Ordinal);
        Assert.Matches(@"\n\s+1\s+[\d.]+ µs\s+[\d.]+ µs", report);
        Assert.Matches(@"\n\s+64\s+[\d.]+ µs\s+[\d.]+ µs", report);

        // Independently of the command's own check: the numpy reference and the float model, on 200 other rows.
        using var original = ModelSession.Load(TestModels.Path("wide"));
        using var int8 = ModelSession.Load(output);
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Folder, "wide.reference.json"))).RootElement.GetProperty("cases")[0];
        var referenceInputs = new Dictionary<string, HostTensor> { ["features"] = HostTensor.FromJson("features", reference.GetProperty("inputs").GetProperty("features")) };
        var expected = HostTensor.FromJson("score", reference.GetProperty("outputs").GetProperty("score")).ToDoubles()!;
        var actual = QuantizeCommand.RunOnce(int8, referenceInputs)["score"].ToDoubles()!;
        Assert.All(expected.Zip(actual), pair => Assert.InRange(Math.Abs(pair.First - pair.Second), 0, QuantizeCommand.DefaultTolerance));
        var rows = ModelInputs.Generate(original, 200, new Dictionary<string, long[]>(), seed: 1234);
        var difference = QuantizeCommand.Compare(original, int8, [rows]);
        Assert.Equal(200, difference.Elements);
        Assert.InRange(difference.Max, 1e-7, QuantizeCommand.DefaultTolerance);
    }

    [Fact]
    public void Gemm_with_transposed_weights_and_a_row_bias_quantizes_to_the_same_answers()
    {
        // fraud.onnx rewritten as exporters often write Gemm: weights [N,K] with transB = 1, the bias [1,N].
        using var folder = new TemporaryFolder();
        var model = OnnxModelFile.Read(TestModels.Path("fraud"));
        foreach (var gemm in model.Graph.Node.Where(n => n.OpType == "Gemm"))
        {
            var weight = model.Graph.Initializer.Single(i => i.Name == gemm.Input[1]);
            var (k, n) = ((int)weight.Dims[0], (int)weight.Dims[1]);
            var values = OnnxModelFile.ReadFloats(weight);
            var transposed = new float[values.Length];
            for (var i = 0; i < k; i++) for (var j = 0; j < n; j++) transposed[j * k + i] = values[i * n + j];
            weight.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(transposed.AsSpan()));
            weight.FloatData.Clear();
            weight.Dims.Clear();
            weight.Dims.Add([n, k]);
            gemm.Attribute.Remove(gemm.Attribute.Single(a => a.Name == "transB"));
            gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            var bias = model.Graph.Initializer.Single(i => i.Name == gemm.Input[2]);
            bias.Dims.Clear();
            bias.Dims.Add([1, n]);
        }

        var floatPath = Path.Combine(folder.Path, "fraud_transposed.onnx");
        File.WriteAllBytes(floatPath, model.ToByteArray());
        var output = Path.Combine(folder.Path, "fraud.int8.onnx");
        var (exitCode, report) = CliHarness.Run("quantize", floatPath, "-o", output, "--input-data", Path.Combine(TestModels.Folder, "fraud.reference.json"));

        Assert.True(exitCode == 0, report);
        Assert.Equal(3, report.Split('\n').Count(line => line.Contains("quantized Gemm", StringComparison.Ordinal)));
        // Neither the float weights nor the [1,N] biases (copied as [N]) are left behind.
        Assert.DoesNotContain(OnnxModelFile.Read(output).Graph.Initializer, i => i.DataType == OnnxModelFile.Float && i.Dims.Count == 2);
        using var original = ModelSession.Load(TestModels.Path("fraud"));
        using var int8 = ModelSession.Load(output);
        var difference = QuantizeCommand.Compare(original, int8, [ModelInputs.Generate(original, 100, new Dictionary<string, long[]>())]);
        Assert.InRange(difference.Max, 1e-7, QuantizeCommand.DefaultTolerance);
    }

    [Fact]
    public void A_model_without_MatMul_or_Gemm_is_refused_and_nothing_is_written()
    {
        using var folder = new TemporaryFolder();
        var output = Path.Combine(folder.Path, "out.onnx");
        var (exitCode, report) = CliHarness.Run("quantize", TestModels.Path("strings"), "-o", output);

        Assert.Equal(1, exitCode);
        Assert.Contains("Nothing to quantize: the model has no MatMul or Gemm node", report, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Weights_that_are_computed_constant_nodes_or_not_float32_are_named_with_the_reason()
    {
        using var folder = new TemporaryFolder();
        var graph = new GraphProto { Name = "matmuls" };
        graph.Input.Add(Value("a", 1, 4));
        graph.Input.Add(Value("b", 4, 3));
        graph.Output.Add(Value("y", 1, 3));
        graph.Output.Add(Value("z", 1, 3));
        graph.Output.Add(Value("c", 1, 3));
        var weights = new TensorProto { Name = "w64", DataType = 11 };
        weights.Dims.Add([4, 3]);
        weights.DoubleData.Add(Enumerable.Repeat(0.5, 12));
        graph.Initializer.Add(weights);
        graph.Node.Add(Node("MatMul", "computed", ["a", "b"], "y"));
        graph.Node.Add(Node("MatMul", "doubles", ["a64", "w64"], "z"));
        var constant = Node("Constant", "weights", [], "wc");
        var value = new TensorProto { DataType = 1 };
        value.Dims.Add([4, 3]);
        value.FloatData.Add(Enumerable.Repeat(0.5f, 12));
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
        graph.Node.Add(constant);
        graph.Node.Add(Node("MatMul", "constant", ["a", "wc"], "c"));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });
        var path = Path.Combine(folder.Path, "matmuls.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var (exitCode, report) = CliHarness.Run("quantize", path, "-o", Path.Combine(folder.Path, "out.onnx"));

        Assert.Equal(1, exitCode);
        Assert.Contains("MatMul 'computed': its weight 'b' is computed, not an initializer", report, StringComparison.Ordinal);
        Assert.Contains("MatMul 'doubles': its weight holds float64; only float32 weights are quantized", report, StringComparison.Ordinal);
        Assert.Contains("MatMul 'constant': its weight 'wc' comes from a Constant node; only initializers are quantized", report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_with_external_weights_is_refused()
    {
        using var folder = new TemporaryFolder();
        var model = OnnxModelFile.Read(TestModels.Path("fraud"));
        var weight = model.Graph.Initializer.First();
        weight.RawData = ByteString.Empty;
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        var path = Path.Combine(folder.Path, "external.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var (exitCode, report) = CliHarness.Run("quantize", path, "-o", Path.Combine(folder.Path, "out.onnx"));

        Assert.Equal(1, exitCode);
        Assert.Contains($"Initializer '{weight.Name}' keeps its data in an external file", report, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_over_the_float_model_is_refused()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "fraud.onnx");
        File.Copy(TestModels.Path("fraud"), path);

        var (exitCode, report) = CliHarness.Run("quantize", path, "-o", Path.Combine(folder.Path, ".", "fraud.onnx"));

        Assert.Equal(1, exitCode);
        Assert.Contains("is the model itself; write the quantized model to another file", report, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(TestModels.Path("fraud")), File.ReadAllBytes(path));
    }

    [Fact]
    public void Outputs_further_apart_than_the_tolerance_fail_with_exit_code_2()
    {
        using var folder = new TemporaryFolder();
        var (exitCode, report) = CliHarness.Run("quantize", TestModels.Path("fraud"), "-o", Path.Combine(folder.Path, "out.onnx"), "--tolerance", "1e-9", "--samples", "10");

        Assert.Equal(2, exitCode);
        Assert.Contains("over the tolerance 1E-09", report, StringComparison.Ordinal);
    }

    private static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(output);
        return node;
    }
}
