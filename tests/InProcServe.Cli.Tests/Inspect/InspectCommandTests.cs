using Google.Protobuf;
using InProcServe.Cli.Onnx;
using InProcServe.Cli.Tests.TestSupport;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Cli.Tests.Inspect;

public sealed class InspectCommandTests
{
    [Fact]
    public void Fraud_model_shows_signature_metadata_opsets_operators_weights_and_providers()
    {
        var (exitCode, output) = CliHarness.Run("inspect", TestModels.Path("fraud"));

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"input\s+features\s+float32\s+\[batch,30\]", output);
        Assert.Matches(@"output\s+probability\s+float32\s+\[batch,1\]", output);
        Assert.Contains("IR version 8; opsets: ai.onnx 17", output, StringComparison.Ordinal);
        Assert.Contains("model version: 3", output, StringComparison.Ordinal);
        Assert.Contains("metadata: task = fraud-scoring", output, StringComparison.Ordinal);
        Assert.Contains("Operators (6 nodes): Gemm ×3, Relu ×2, Sigmoid ×1", output, StringComparison.Ordinal);
        // 30·64 + 64 + 64·32 + 32 + 32 + 1 floats.
        Assert.Contains($"Initializers: 6, {(30 * 64 + 64 + 64 * 32 + 32 + 32 + 1) * 4:N0} B", output, StringComparison.Ordinal);
        Assert.Contains("CPUExecutionProvider", output, StringComparison.Ordinal);
        Assert.Contains("Runs on this ONNX Runtime: yes", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_operator_ONNX_Runtime_lacks_is_reported_with_exit_code_1()
    {
        using var folder = new TemporaryFolder();
        var model = OnnxModelFile.Read(TestModels.Path("fraud"));
        model.Graph.Node.Single(n => n.OpType == "Sigmoid").OpType = "NoSuchOperator";
        var path = Path.Combine(folder.Path, "unknown_op.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var (exitCode, output) = CliHarness.Run("inspect", path);

        Assert.Equal(1, exitCode);
        Assert.Contains("NoSuchOperator ×1", output, StringComparison.Ordinal);
        Assert.Contains("Runs on this ONNX Runtime: no: ", output, StringComparison.Ordinal);
        Assert.Contains("NoSuchOperator", output[output.IndexOf("Runs on this", StringComparison.Ordinal)..], StringComparison.Ordinal);
        // The signature still comes from the graph.
        Assert.Matches(@"input\s+features\s+float32\s+\[batch,30\]", output);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_named_with_what_went_wrong()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "text.onnx");
        File.WriteAllText(path, "this is not protobuf\n\u0001\u0002");

        var (exitCode, output) = CliHarness.Run("inspect", path);

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: '{path}' is not an ONNX model", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Silero_VAD_counts_the_operators_and_constants_inside_its_If_branches()
    {
        var (exitCode, output) = CliHarness.Run("inspect", NpmModels.SileroVad);

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"input\s+sr\s+int64\s+\[\]", output);
        Assert.Matches(@"input\s+state\s+float32\s+\[2,\?,128\]", output);
        // Five nodes at the top; the two branches (8 and 16 kHz) hold the network.
        var operators = System.Text.RegularExpressions.Regex.Match(output, @"Operators \((\d+) nodes, (\d+) of them in subgraphs\)");
        Assert.True(operators.Success, output);
        Assert.Equal(int.Parse(operators.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 5, int.Parse(operators.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Matches(@"Conv ×\d+", output);
        // Its weights are Constant nodes, not initializers.
        Assert.Matches(@"Initializers: 0, 0 B; Constant nodes: \d+, [\d,]+ B \([\d.]+ MiB\)", output);
    }
}
