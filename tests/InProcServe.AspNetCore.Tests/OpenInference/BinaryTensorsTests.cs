using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>The protocol's binary tensor codec (REST binary data, gRPC raw contents), byte for byte.</summary>
public sealed class BinaryTensorsTests
{
    [Fact]
    public void Every_element_type_of_all_types_encodes_as_the_reference_bytes_and_decodes_back_exactly()
    {
        foreach (var input in TestModels.Reference("all_types").Cases[0].Inputs)
        {
            using var tensor = input.ToTensor();

            var bytes = BinaryTensors.Encode(tensor);
            using var decoded = BinaryTensors.Decode($"Input '{input.Name}'", tensor.ElementType, input.Shape, bytes);

            Assert.Equal(RawTensors.Encode(input), bytes);
            input.AssertMatches(decoded, tolerance: 0);
        }
    }

    [Fact]
    public void FP16_elements_are_their_two_IEEE_bytes_little_endian()
    {
        using var tensor = TensorValue.Create(new[] { (Half)1, (Half)(-2), Half.MaxValue }, [3]);

        var bytes = BinaryTensors.Encode(tensor);

        Assert.Equal(new byte[] { 0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B }, bytes);
    }

    [Fact]
    public void BYTES_elements_carry_their_UTF8_length_before_them()
    {
        using var tensor = TensorValue.CreateStrings(["", "naïve", "日本"], [3]);
        byte[] expected = [0, 0, 0, 0, 6, 0, 0, 0, (byte)'n', (byte)'a', 0xC3, 0xAF, (byte)'v', (byte)'e', 6, 0, 0, 0, 0xE6, 0x97, 0xA5, 0xE6, 0x9C, 0xAC];

        var bytes = BinaryTensors.Encode(tensor);
        using var decoded = BinaryTensors.Decode("Input 'text'", TensorElementType.String, [3], bytes);

        Assert.Equal(expected, bytes);
        Assert.Equal(["", "naïve", "日本"], decoded.GetStrings());
    }

    [Fact]
    public void BF16_has_a_two_byte_binary_form_but_no_tensor_here()
    {
        var error = Assert.Throws<NotSupportedException>(() => BinaryTensors.Decode("Input 'x'", TensorElementType.BFloat16, [2], new byte[4]));

        Assert.Equal(2, DataTypes.Size(TensorElementType.BFloat16));
        Assert.Equal("Input 'x': BF16 elements can't be held in a tensor here.", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 0, 0, 0x61, 0x62 }, "Input 't': its 1 BYTES elements end at byte 5, but its binary data has 6 bytes.")]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, "Input 't': BYTES element 0 declares 4294967295 bytes at byte 4, but 0 remain.")]
    public void BYTES_data_that_does_not_add_up_is_refused_naming_where(byte[] data, string message)
    {
        var error = Assert.Throws<InvalidDataException>(() => BinaryTensors.Decode("Input 't'", TensorElementType.String, [1], data));

        Assert.Equal(message, error.Message);
    }
}
