using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Tensors;

public sealed class TensorValueTests
{
    [Fact]
    public void A_tensor_over_an_array_shares_its_memory()
    {
        var data = new[] { 1f, 2f, 3f, 4f, 5f, 6f };
        using var tensor = TensorValue.Create(data, [2, 3]);

        tensor.GetSpan<float>()[4] = 50f;
        data[0] = 10f;

        Assert.Equal(50f, data[4]);
        Assert.Equal(10f, tensor.GetSpan<float>()[0]);
        Assert.Equal(TensorElementType.Float, tensor.ElementType);
        Assert.Equal(6, tensor.ElementCount);
        Assert.Equal("float32[2,3]", tensor.ToString());
    }

    [Fact]
    public void A_slice_of_memory_is_read_from_its_offset()
    {
        var reference = TestModels.Reference("fraud").Cases[0];
        var all = reference.Inputs[0].Data.Select(d => (float)d.GetDouble()).ToArray();
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var rowsFiveAndSix = TensorValue.Create(all.AsMemory(5 * 30, 2 * 30), [2, 30]);

        using var outputs = session.Run([("features", rowsFiveAndSix)]);

        var probability = outputs["probability"].GetSpan<float>();
        Assert.Equal(reference.Outputs[0].Data[5].GetDouble(), probability[0], 1e-5);
        Assert.Equal(reference.Outputs[0].Data[6].GetDouble(), probability[1], 1e-5);
    }

    [Fact]
    public void Allocated_tensors_start_zeroed_and_are_writable()
    {
        using var tensor = TensorValue.Allocate<long>([3, 2]);

        Assert.All(tensor.GetSpan<long>().ToArray(), v => Assert.Equal(0, v));
        tensor.GetSpan<long>()[5] = long.MaxValue;
        Assert.Equal(long.MaxValue, tensor.GetSpan<long>()[5]);
        Assert.Equal("int64[3,2]", tensor.ToString());
    }

    [Fact]
    public void A_scalar_has_an_empty_shape_and_one_element()
    {
        using var scalar = TensorValue.Create(new long[] { 16_000 }, []);

        Assert.Equal(1, scalar.ElementCount);
        Assert.True(scalar.Shape.IsEmpty);
        Assert.Equal("int64[]", scalar.ToString());
    }

    [Fact]
    public void Reading_as_the_wrong_type_names_both_types()
    {
        using var tensor = TensorValue.Create(new Half[2], [2]);

        var error = Assert.Throws<InvalidOperationException>(() => tensor.GetSpan<float>());

        Assert.Equal("This tensor holds float16 elements; it can't be read as Single (float32).", error.Message);
    }

    [Fact]
    public void Negative_dimensions_and_unsupported_element_types_are_refused()
    {
        var negative = Assert.Throws<ArgumentException>(() => TensorValue.Allocate<float>([2, -1]));
        var unsupported = Assert.Throws<NotSupportedException>(() => TensorValue.Create(new decimal[1], [1]));

        Assert.StartsWith("A tensor's dimensions can't be negative; the shape was [2,?].", negative.Message);
        Assert.StartsWith("System.Decimal can't be a tensor element.", unsupported.Message);
    }

    [Fact]
    public void Strings_round_trip_as_UTF8_and_are_not_readable_as_numbers()
    {
        string[] text = ["", "naïve", "日本語 🙂", new string('x', 1000)];
        using var tensor = TensorValue.CreateStrings(text, [2, 2]);
        using var numbers = TensorValue.Create(new float[1], [1]);

        Assert.Equal(text, tensor.GetStrings());
        Assert.Equal("string[2,2]", tensor.ToString());
        Assert.Throws<InvalidOperationException>(() => tensor.GetSpan<byte>());
        Assert.Throws<InvalidOperationException>(() => numbers.GetStrings());
        Assert.Throws<ArgumentException>(() => TensorValue.CreateStrings(["a", null!], [2]));
        Assert.Throws<ArgumentException>(() => TensorValue.CreateStrings(["a"], [2]));
    }

    [Fact]
    public void A_disposed_tensor_refuses_access()
    {
        var tensor = TensorValue.Create(new float[4], [4]);
        tensor.Dispose();
        tensor.Dispose();

        Assert.Throws<ObjectDisposedException>(() => tensor.GetSpan<float>());
    }

    [Fact]
    public void Disposing_unpins_the_callers_memory()
    {
        var weak = PinAndRelease();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(weak.IsAlive, "the array stayed reachable after the tensor was disposed");

        static WeakReference PinAndRelease()
        {
            var data = new float[1024];
            using (TensorValue.Create(data, [1024]))
            {
            }

            return new WeakReference(data);
        }
    }
}
