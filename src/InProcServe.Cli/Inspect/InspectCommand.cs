using System.CommandLine;
using System.Globalization;
using InProcServe.Cli.Onnx;
using Spectre.Console;

namespace InProcServe.Cli.Inspect;

/// <summary><c>inprocserve inspect MODEL.onnx</c>: the model's signature, metadata, opsets, operators and weights, and whether ONNX Runtime runs it.</summary>
internal static class InspectCommand
{
    internal static Command Create(IAnsiConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .onnx file." };
        var command = new Command("inspect", "Shows a model's inputs and outputs (element types, symbolic dimensions), metadata, opsets, operator counts, " +
                                             "initializer bytes, the execution providers available, and whether this ONNX Runtime loads it.")
        {
            model,
        };
        command.SetAction(result => CliCommand.Run(console, () => Run(console, result.GetRequiredValue(model))));
        return command;
    }

    /// <summary>Prints the report; returns 0, or 1 when ONNX Runtime can't load the model.</summary>
    internal static int Run(IAnsiConsole console, string path)
    {
        var proto = OnnxModelFile.Read(path);
        var graph = proto.Graph;
        console.MarkupLineInterpolated($"[bold]{Path.GetFileName(path)}[/]  {Size(new FileInfo(path).Length)}");
        console.WriteLine($"  IR version {proto.IrVersion}; opsets: {string.Join(", ", proto.OpsetImport.Select(o => $"{(o.Domain is "" or "ai.onnx" ? "ai.onnx" : o.Domain)} {o.Version}"))}");
        console.WriteLine($"  producer: {Or(proto.ProducerName + " " + proto.ProducerVersion)}; graph: {Or(graph.Name)}; model version: {proto.ModelVersion}");
        if (proto.DocString.Length > 0) console.WriteLine($"  description: {proto.DocString}");
        foreach (var entry in proto.MetadataProps) console.WriteLine($"  metadata: {entry.Key} = {entry.Value}");

        ModelSession? session = null;
        Exception? loadError = null;
        try
        {
            session = ModelSession.Load(path);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or NotSupportedException)
        {
            loadError = e;
        }

        using (session)
        {
            var signature = new Table().Border(TableBorder.Simple).AddColumns("", "name", "type", "shape");
            if (session is not null)
            {
                foreach (var input in session.Inputs) signature.AddRow("input", Markup.Escape(input.Name), TensorText.TypeName(input.ElementType), Markup.Escape(TensorText.Shape(input)));
                foreach (var output in session.Outputs) signature.AddRow("output", Markup.Escape(output.Name), TensorText.TypeName(output.ElementType), Markup.Escape(TensorText.Shape(output)));
            }
            else
            {
                // Without a session, the graph's declared inputs (less initializers, which older models list as inputs) and outputs.
                var initializers = graph.Initializer.Select(i => i.Name).ToHashSet();
                foreach (var input in graph.Input.Where(i => !initializers.Contains(i.Name))) signature.AddRow("input", Markup.Escape(input.Name), Markup.Escape(TypeOf(input)), Markup.Escape(ShapeOf(input)));
                foreach (var output in graph.Output) signature.AddRow("output", Markup.Escape(output.Name), Markup.Escape(TypeOf(output)), Markup.Escape(ShapeOf(output)));
            }

            console.Write(signature);

            // Control flow (If, Loop, Scan) keeps most of some models in subgraphs: Silero VAD has 5 nodes at the top.
            var nodes = Nodes(graph).ToList();
            var operators = nodes
                .GroupBy(n => n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}")
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Key} ×{g.Count()}");
            var nested = nodes.Count - graph.Node.Count;
            console.WriteLine($"Operators ({nodes.Count} nodes{(nested > 0 ? $", {nested} of them in subgraphs" : "")}): {string.Join(", ", operators)}");
            var weights = Graphs(graph).SelectMany(g => g.Initializer).ToList();
            var external = weights.Count(OnnxModelFile.IsExternal);
            var constants = nodes.Where(n => n.OpType == "Constant").Select(n => n.Attribute.FirstOrDefault(a => a.Name == "value")?.T).OfType<TensorProto>().ToList();
            console.WriteLine($"Initializers: {weights.Count}, {Size(weights.Sum(OnnxModelFile.DataBytes))}" +
                              (external > 0 ? $" ({external} with external data, not counted)" : "") +
                              (constants.Count > 0 ? $"; Constant nodes: {constants.Count}, {Size(constants.Sum(OnnxModelFile.DataBytes))}" : ""));
            console.WriteLine($"ONNX Runtime {OnnxRuntime.Version}; execution providers available: {string.Join(", ", OnnxRuntime.GetAvailableProviders())}");
            if (session is not null)
            {
                console.MarkupLineInterpolated($"Runs on this ONNX Runtime: [green]yes[/] (every operator loaded on {session.ExecutionProvider.Name})");
                return 0;
            }

            console.MarkupLineInterpolated($"Runs on this ONNX Runtime: [red]no[/]: {loadError!.Message}");
            return 1;
        }
    }

    /// <summary>A graph and every subgraph in its nodes' attributes, depth first.</summary>
    private static IEnumerable<GraphProto> Graphs(GraphProto graph) =>
        graph.Node.SelectMany(n => n.Attribute).SelectMany(a => (a.G is null ? a.Graphs : a.Graphs.Prepend(a.G)).SelectMany(Graphs)).Prepend(graph);

    private static IEnumerable<NodeProto> Nodes(GraphProto graph) => Graphs(graph).SelectMany(g => g.Node);

    private static string TypeOf(ValueInfoProto value) =>
        value.Type?.TensorType is { } tensor ? OnnxModelFile.DataTypeName(tensor.ElemType) : "not a tensor";

    private static string ShapeOf(ValueInfoProto value) =>
        value.Type?.TensorType?.Shape is { } shape
            ? "[" + string.Join(",", shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(CultureInfo.InvariantCulture) : d.DimParam is "" ? "?" : d.DimParam)) + "]"
            : "?";

    private static string Or(string value) => string.IsNullOrWhiteSpace(value) ? "(none)" : value.Trim();

    /// <summary>A byte count for people: 4,718,596 B (4.5 MiB).</summary>
    internal static string Size(long bytes) =>
        bytes < 1024 ? $"{bytes} B"
        : bytes < 1024 * 1024 ? string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} B ({bytes / 1024.0:F1} KiB)")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} B ({bytes / 1048576.0:F1} MiB)");
}
