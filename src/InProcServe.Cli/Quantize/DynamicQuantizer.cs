using System.Globalization;
using Google.Protobuf;
using InProcServe.Cli.Onnx;

namespace InProcServe.Cli.Quantize;

/// <summary>What happened to one MatMul or Gemm node.</summary>
/// <param name="Node">The node's name, or its op type and output when it has none.</param>
/// <param name="Weight">The weight initializer, with its dimensions.</param>
/// <param name="Reason">Null when it was quantized; otherwise why not.</param>
internal sealed record QuantizedNode(string Node, string Weight, string? Reason);

/// <summary>
/// Post-training dynamic int8 quantization of MatMul and Gemm weights, as ONNX Runtime's Python <c>quantize_dynamic</c> does
/// it: each constant float32 weight matrix [K,N] becomes int8 with one scale per column (symmetric, zero point 0), and the
/// node becomes com.microsoft <c>DynamicQuantizeMatMul</c>, which quantizes its activations to uint8 per call, multiplies in
/// integers and scales back to float (adding a Gemm's bias).
/// </summary>
internal static class DynamicQuantizer
{
    /// <summary>The largest weight magnitude after quantization.</summary>
    /// <remarks>
    /// 7 bits (±63), not 8: x86 CPUs without VNNI multiply uint8 activations by int8 weights with <c>vpmaddubsw</c>, which adds
    /// two products into a saturating int16; 255·127·2 overflows it, 255·63·2 doesn't. ONNX Runtime's own tool calls this
    /// <c>reduce_range</c> and recommends it on such machines; it costs one bit of weight precision everywhere.
    /// </remarks>
    internal const int MaxQuantized = 63;

    private const string MicrosoftDomain = "com.microsoft";

    /// <summary>Quantizes <paramref name="model"/> in place and returns what happened to each MatMul and Gemm node.</summary>
    /// <exception cref="CliException">The model keeps weights in external files, or has no weight this can quantize (the message lists each node and why).</exception>
    internal static IReadOnlyList<QuantizedNode> Quantize(ModelProto model)
    {
        var graph = model.Graph;
        if (graph.Initializer.FirstOrDefault(OnnxModelFile.IsExternal) is { } external)
        {
            throw new CliException($"Initializer '{external.Name}' keeps its data in an external file; the tool quantizes only models whose weights are inside the .onnx file (under 2 GB).");
        }

        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        // An initializer that is also a graph input is only a default the caller may replace: not a constant weight.
        var overridable = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        CountUses(graph, uses);

        var results = new List<QuantizedNode>();
        for (var n = 0; n < graph.Node.Count; n++)
        {
            var node = graph.Node[n];
            if (node.Domain is not ("" or "ai.onnx") || node.OpType is not ("MatMul" or "Gemm")) continue;
            var label = node.Name is "" ? $"{node.OpType} → {node.Output[0]}" : $"{node.OpType} '{node.Name}'";
            var weightName = node.Input.Count > 1 ? node.Input[1] : "";
            initializers.TryGetValue(weightName, out var weight);
            var weightLabel = weight is null ? weightName : $"{weightName} {OnnxModelFile.DataTypeName(weight.DataType)}[{string.Join(",", weight.Dims)}]";
            var reason = Check(graph, node, weight, overridable, initializers, out var transpose, out var bias);
            if (reason is not null)
            {
                results.Add(new QuantizedNode(label, weightLabel, reason));
                continue;
            }

            var quantized = QuantizeWeight(weight!, transpose, out var scales);
            var scaleName = Unique(initializers, weightName + "_scale");
            initializers[scaleName] = scales;
            scales.Name = scaleName;
            quantized.Name = Unique(initializers, weightName + "_quantized");
            initializers[quantized.Name] = quantized;
            graph.Initializer.Add(quantized);
            graph.Initializer.Add(scales);

            var replacement = new NodeProto
            {
                Name = node.Name is "" ? "" : node.Name + "_quant",
                OpType = "DynamicQuantizeMatMul",
                Domain = MicrosoftDomain,
                DocString = $"{node.OpType} with int8 weights, quantized by inprocserve.",
            };
            replacement.Input.Add(node.Input[0]);
            replacement.Input.Add(quantized.Name);
            replacement.Input.Add(scaleName);
            if (bias is not null)
            {
                // An empty name leaves the optional zero point out: the weights are symmetric.
                replacement.Input.Add("");
                replacement.Input.Add(bias);
            }

            replacement.Output.Add(node.Output);
            graph.Node[n] = replacement;
            Release(graph, initializers, uses, weightName);
            // A [1,N] bias was copied as [N]: the original goes with its last use too.
            if (bias is not null && bias != node.Input[2]) Release(graph, initializers, uses, node.Input[2]);
            results.Add(new QuantizedNode(label, weightLabel, null));
        }

        if (results.All(r => r.Reason is not null))
        {
            throw new CliException(
                results.Count == 0
                    ? "Nothing to quantize: the model has no MatMul or Gemm node; dynamic quantization applies to their weights only."
                    : "Nothing to quantize: no MatMul or Gemm node has a weight this tool can quantize:" + Environment.NewLine +
                      string.Join(Environment.NewLine, results.Select(r => $"  {r.Node}: {r.Reason}")));
        }

        if (!model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }

        return results;
    }

    /// <summary>Returns why a node can't be quantized, or null, with what its rewrite needs.</summary>
    private static string? Check(GraphProto graph, NodeProto node, TensorProto? weight, HashSet<string> overridable, Dictionary<string, TensorProto> initializers, out bool transpose, out string? bias)
    {
        transpose = false;
        bias = null;
        if (node.Input.Count < 2) return "it has fewer than two inputs";
        if (weight is null)
        {
            return graph.Node.Any(n => n.OpType == "Constant" && n.Output.Contains(node.Input[1]))
                ? $"its weight '{node.Input[1]}' comes from a Constant node; only initializers are quantized"
                : $"its weight '{node.Input[1]}' is computed, not an initializer; only constant weights are quantized";
        }
        if (overridable.Contains(weight.Name)) return $"its weight '{weight.Name}' is also a graph input, which callers may replace";
        if (weight.DataType != OnnxModelFile.Float) return $"its weight holds {OnnxModelFile.DataTypeName(weight.DataType)}; only float32 weights are quantized";
        if (weight.Dims.Count != 2) return $"its weight has rank {weight.Dims.Count}; only matrices [K,N] are quantized";
        if (node.OpType == "MatMul") return null;

        long Int(string name, long fallback) => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;
        float Float(string name) => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : 1f;
        if (Int("transA", 0) != 0) return "transA = 1 (a transposed activation) is not supported";
        if (Float("alpha") != 1f) return string.Create(CultureInfo.InvariantCulture, $"alpha = {Float("alpha")}; only alpha = 1 is supported");
        transpose = Int("transB", 0) != 0;
        if (node.Input.Count < 3 || node.Input[2] is "") return null;
        if (Float("beta") != 1f) return string.Create(CultureInfo.InvariantCulture, $"beta = {Float("beta")} with a bias; only beta = 1 is supported");
        var columns = transpose ? weight.Dims[0] : weight.Dims[1];
        if (!initializers.TryGetValue(node.Input[2], out var c) || overridable.Contains(c.Name)) return $"its bias '{node.Input[2]}' is not a constant";
        if (c.DataType != OnnxModelFile.Float || c.Dims.Aggregate(1L, (p, d) => p * d) != columns || c.Dims.Count > 2 || (c.Dims.Count == 2 && c.Dims[0] != 1))
        {
            return $"its bias '{c.Name}' is {OnnxModelFile.DataTypeName(c.DataType)}[{string.Join(",", c.Dims)}]; only a float32 vector of the {columns} output columns is supported";
        }

        if (c.Dims.Count == 2)
        {
            // DynamicQuantizeMatMul takes the bias as [N]; a [1,N] one becomes a copy of that shape.
            var vector = c.Clone();
            vector.Name = Unique(initializers, c.Name + "_vector");
            vector.Dims.Clear();
            vector.Dims.Add(columns);
            initializers[vector.Name] = vector;
            graph.Initializer.Add(vector);
            bias = vector.Name;
            return null;
        }

        bias = c.Name;
        return null;
    }

    /// <summary>int8 [K,N] with one scale per column: scale = max |w| / <see cref="MaxQuantized"/>, q = round(w / scale).</summary>
    private static TensorProto QuantizeWeight(TensorProto weight, bool transpose, out TensorProto scales)
    {
        var values = OnnxModelFile.ReadFloats(weight);
        // Stored as [K,N]; a Gemm with transB = 1 holds it as [N,K].
        var (k, n) = transpose ? ((int)weight.Dims[1], (int)weight.Dims[0]) : ((int)weight.Dims[0], (int)weight.Dims[1]);
        float At(int row, int column) => transpose ? values[column * k + row] : values[row * n + column];

        var scale = new float[n];
        for (var j = 0; j < n; j++)
        {
            var max = 0f;
            for (var i = 0; i < k; i++) max = Math.Max(max, Math.Abs(At(i, j)));
            // An all-zero column quantizes to zeros whatever the scale; 1 keeps the division finite.
            scale[j] = max > 0 ? max / MaxQuantized : 1f;
        }

        var quantized = new byte[k * n];
        for (var i = 0; i < k; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var q = Math.Clamp(MathF.Round(At(i, j) / scale[j], MidpointRounding.ToEven), -MaxQuantized, MaxQuantized);
                quantized[i * n + j] = unchecked((byte)(sbyte)q);
            }
        }

        scales = new TensorProto { DataType = OnnxModelFile.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(scale.AsSpan())) };
        scales.Dims.Add(n);
        var result = new TensorProto { DataType = OnnxModelFile.Int8, RawData = ByteString.CopyFrom(quantized) };
        result.Dims.Add(k);
        result.Dims.Add(n);
        return result;
    }

    /// <summary>Counts each name's uses as a node input, in subgraphs too (a subgraph may read an outer initializer).</summary>
    private static void CountUses(GraphProto graph, Dictionary<string, int> uses)
    {
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input) uses[input] = uses.GetValueOrDefault(input) + 1;
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null) CountUses(attribute.G, uses);
                foreach (var subgraph in attribute.Graphs) CountUses(subgraph, uses);
            }
        }
    }

    /// <summary>Drops a replaced node's use of the float weight, and the weight with its last use.</summary>
    private static void Release(GraphProto graph, Dictionary<string, TensorProto> initializers, Dictionary<string, int> uses, string name)
    {
        uses[name]--;
        if (uses[name] > 0 || graph.Output.Any(o => o.Name == name)) return;
        graph.Initializer.Remove(initializers[name]);
        initializers.Remove(name);
    }

    private static string Unique(Dictionary<string, TensorProto> initializers, string name)
    {
        var candidate = name;
        for (var i = 2; initializers.ContainsKey(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }
}
