using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>Weights shared between sessions: what is read from the model, when it is shared, and that results don't change.</summary>
public sealed class SharedWeightsTests
{
    public SharedWeightsTests() => OnnxRuntime.Initialize();

    public static TheoryData<string> Models => new() { "fraud", "multi_io", "all_types", "dynamic", "fixed", "slow", "strings", "images", "wide" };

    [Fact]
    public void The_reader_finds_each_initializer_with_its_type_shape_and_raw_data()
    {
        var bytes = File.ReadAllBytes(TestModels.Path("fraud"));

        var initializers = OnnxInitializerReader.Read(bytes);

        Assert.Equal(["W1", "b1", "W2", "b2", "W3", "b3"], initializers.Select(i => i.Name));
        Assert.All(initializers, i => Assert.Equal(TensorElementType.Float, i.ElementType));
        Assert.Equal([[30, 64], [64], [64, 32], [32], [32, 1], [1]], initializers.Select(i => i.Shape));
        Assert.Equal(30 * 64 * 4, initializers[0].Length);
    }

    [Fact]
    public void A_malformed_protobuf_is_reported_as_invalid_data()
    {
        // Field 7 (graph), length-delimited, claiming 100 bytes where there are 2.
        Assert.Throws<InvalidDataException>(() => OnnxInitializerReader.Read([0x3A, 100, 1, 2]));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Sessions_sharing_weights_match_the_numpy_reference(string model)
    {
        var reference = TestModels.Reference(model);
        var options = new ModelSessionOptions { ShareWeights = true };
        using var first = ModelSession.Load(TestModels.Path(model), options);
        using var second = ModelSession.Load(File.ReadAllBytes(TestModels.Path(model)), options);
        using var third = ModelSession.Load(TestModels.Path(model), options);
        foreach (var session in new[] { first, second, third })
        {
            foreach (var @case in reference.Cases)
            {
                var inputs = @case.Inputs.Select(i => new NamedTensor(i.Name, i.ToTensor())).ToArray();
                try
                {
                    using var outputs = session.Run(inputs);
                    foreach (var expected in @case.Outputs)
                    {
                        expected.AssertMatches(outputs[expected.Name], reference.Tolerance);
                    }
                }
                finally
                {
                    foreach (var input in inputs) input.Value.Dispose();
                }
            }
        }
    }

    [Fact]
    public void Sessions_of_one_file_share_one_set_of_weights_until_the_last_releases_it()
    {
        var path = TestModels.Path("fraud");

        var first = SharedWeights.AcquireFile(path);
        var second = SharedWeights.AcquireFile(path);
        first.Release();
        var third = SharedWeights.AcquireFile(path);
        second.Release();
        third.Release();
        var afterAll = SharedWeights.AcquireFile(path);
        afterAll.Release();

        Assert.Same(first, second);
        Assert.Same(first, third);
        Assert.NotSame(first, afterAll);
        Assert.Equal(6, first.InitializerCount);
    }

    [Fact]
    public void Equal_bytes_share_and_a_rewritten_file_gets_new_weights()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "model.onnx");
        var bytes = File.ReadAllBytes(TestModels.Path("fraud"));
        File.WriteAllBytes(path, bytes);

        var fromBytes = SharedWeights.AcquireBytes(bytes);
        var fromCopy = SharedWeights.AcquireBytes(bytes.ToArray());
        var before = SharedWeights.AcquireFile(path);
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(1));
        var after = SharedWeights.AcquireFile(path);
        foreach (var weights in new[] { fromBytes, fromCopy, before, after }) weights.Release();

        Assert.Same(fromBytes, fromCopy);
        Assert.NotSame(before, after);
    }

    [Fact]
    public void A_file_that_is_not_a_model_still_fails_with_OnnxRuntimes_error()
    {
        using var folder = new TemporaryFolder();
        var path = Path.Combine(folder.Path, "broken.onnx");
        File.WriteAllBytes(path, "this is not a protobuf"u8.ToArray());

        var error = Assert.Throws<OnnxRuntimeException>(() => ModelSession.Load(path, new ModelSessionOptions { ShareWeights = true }));

        Assert.Equal(OnnxRuntimeErrorCode.InvalidProtobuf, error.ErrorCode);
    }
}
