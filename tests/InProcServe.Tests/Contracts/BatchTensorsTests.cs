namespace InProcServe.Tests.Contracts;

/// <summary>The spans generated binders write through: one row, or the first rows of a batch.</summary>
public sealed class BatchTensorsTests
{
    [Fact]
    public void Rows_is_the_first_rows_back_to_back_and_row_i_is_its_slice()
    {
        using var buffer = new TensorBuffer(new TensorDeclaration("x", TensorElementType.Int32, [3], "X"), [3], capacity: 4);
        var tensors = new BatchTensors([buffer]);

        var rows = tensors.Rows<int>(0, 2);
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = i + 1;
        }

        Assert.Equal(6, rows.Length);
        Assert.Equal([4, 5, 6], tensors.Row<int>(0, 1).ToArray());
        Assert.Equal([0, 0, 0], tensors.Row<int>(0, 2).ToArray());
        Assert.Equal(12, tensors.Rows<int>(0, 4).Length);
    }

    [Fact]
    public void Rows_beyond_the_capacity_or_of_another_element_type_are_refused()
    {
        using var buffer = new TensorBuffer(new TensorDeclaration("x", TensorElementType.Int32, [3], "X"), [3], capacity: 4);
        var tensors = new BatchTensors([buffer]);

        var tooMany = Assert.Throws<InvalidOperationException>(() => tensors.Rows<int>(0, 5));
        var wrongType = Assert.Throws<InvalidOperationException>(() => tensors.Rows<float>(0, 1));

        Assert.Equal("Row 4 of 'x' read as Int32: the tensor holds int32 in 4 rows.", tooMany.Message);
        Assert.Equal("Row 0 of 'x' read as Single: the tensor holds int32 in 4 rows.", wrongType.Message);
    }
}
