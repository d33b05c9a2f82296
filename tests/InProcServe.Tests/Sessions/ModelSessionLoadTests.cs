using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

public sealed class ModelSessionLoadTests
{
    [Fact]
    public void Signature_lists_every_input_and_output_with_type_and_shape()
    {
        using var session = ModelSession.Load(TestModels.Path("multi_io"));

        Assert.Equal("multi_io", session.Name);
        Assert.Equal(["a: float32[batch,4]", "b: float32[batch,4]"], session.Inputs.Select(i => i.ToString()));
        Assert.Equal(["sum: float32[batch,4]", "dot: float32[batch,1]", "argmax: int64[batch]"], session.Outputs.Select(o => o.ToString()));
        var argmax = session.Outputs[2];
        Assert.Equal(TensorElementType.Int64, argmax.ElementType);
        Assert.Equal([-1L], argmax.Shape.ToArray());
        Assert.Equal(new string?[] { "batch" }, argmax.DimensionNames.ToArray());
    }

    [Fact]
    public void Fixed_and_symbolic_dimensions_are_told_apart()
    {
        using var fraud = ModelSession.Load(TestModels.Path("fraud"));
        using var dynamic = ModelSession.Load(TestModels.Path("dynamic"));
        using var fixedShape = ModelSession.Load(TestModels.Path("fixed"));
        using var slow = ModelSession.Load(TestModels.Path("slow"));

        Assert.Equal([-1L, 30], fraud.Inputs[0].Shape.ToArray());
        Assert.Equal(new string?[] { "batch", null }, fraud.Inputs[0].DimensionNames.ToArray());
        Assert.Equal(new string?[] { "batch", "seq" }, dynamic.Inputs[0].DimensionNames.ToArray());
        Assert.Equal([-1L, -1], dynamic.Inputs[0].Shape.ToArray());
        Assert.Equal([2L, 3], fixedShape.Inputs[0].Shape.ToArray());
        Assert.Equal(new string?[] { null, null }, fixedShape.Inputs[0].DimensionNames.ToArray());
        Assert.Equal("iterations: int64[]", slow.Inputs[1].ToString());
    }

    [Fact]
    public void Every_element_type_is_reported()
    {
        using var session = ModelSession.Load(TestModels.Path("all_types"));

        Assert.Equal(
            [
                TensorElementType.Float, TensorElementType.Double, TensorElementType.Float16, TensorElementType.Int8,
                TensorElementType.Int16, TensorElementType.Int32, TensorElementType.Int64, TensorElementType.UInt8,
                TensorElementType.UInt16, TensorElementType.UInt32, TensorElementType.UInt64, TensorElementType.Bool,
            ],
            session.Inputs.Select(i => i.ElementType));
        Assert.Equal(session.Inputs.Select(i => i.ElementType), session.Outputs.Select(o => o.ElementType));
    }

    [Fact]
    public void Model_metadata_is_read_from_the_file()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));

        var metadata = session.Metadata;
        Assert.Equal("InProcServe models/build_models.py", metadata.ProducerName);
        Assert.Equal("fraud_mlp", metadata.GraphName);
        Assert.Equal(3, metadata.Version);
        Assert.Contains("fraud", metadata.Description, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(
            new Dictionary<string, string> { ["task"] = "fraud-scoring", ["threshold"] = "0.5", ["features"] = "30" },
            metadata.CustomMetadata.OrderBy(p => p.Key).ToDictionary());
    }

    [Fact]
    public void A_model_loads_from_bytes_and_runs_like_the_file()
    {
        var reference = TestModels.Reference("fixed");
        using var session = ModelSession.Load(File.ReadAllBytes(TestModels.Path("fixed")), new ModelSessionOptions { Name = "embedded" });
        using var x = reference.Cases[0].Inputs[0].ToTensor();

        using var outputs = session.Run([("x", x)]);

        Assert.Equal("embedded", session.Name);
        reference.Cases[0].Outputs[0].AssertMatches(outputs["y"], reference.Tolerance);
    }

    [Fact]
    public void Session_options_are_applied_and_the_model_still_matches_its_reference()
    {
        var reference = TestModels.Reference("fraud");
        var options = new ModelSessionOptions
        {
            IntraOpThreads = 1,
            InterOpThreads = 2,
            GraphOptimization = GraphOptimizationLevel.Basic,
            EnableCpuMemoryArena = true,
        };
        using var session = ModelSession.Load(TestModels.Path("fraud"), options);
        using var features = reference.Cases[0].Inputs[0].ToTensor();

        using var outputs = session.Run([("features", features)]);

        reference.Cases[0].Outputs[0].AssertMatches(outputs["probability"], reference.Tolerance);
    }

    [Fact]
    public void The_optimized_model_cache_is_written_then_used()
    {
        using var folder = new TemporaryFolder();
        var model = Path.Combine(folder.Path, "fraud.onnx");
        File.Copy(TestModels.Path("fraud"), model);
        var cache = Path.Combine(folder.Path, "cache", "fraud.optimized.onnx");
        var options = new ModelSessionOptions { OptimizedModelPath = cache };
        var reference = TestModels.Reference("fraud");

        using (ModelSession.Load(model, options))
        {
        }

        Assert.True(File.Exists(cache), "the optimized model was not written");
        // Corrupting the source proves the second load reads the cache, not the model.
        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(-5));
        File.WriteAllBytes(model, [1, 2, 3]);
        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(-5));
        using var fromCache = ModelSession.Load(model, options);
        using var features = reference.Cases[0].Inputs[0].ToTensor();
        using var outputs = fromCache.Run([("features", features)]);
        reference.Cases[0].Outputs[0].AssertMatches(outputs["probability"], reference.Tolerance);
    }
}
