using System.ComponentModel;

namespace InProcServe;

/// <summary>
/// A type whose values become rows of model inputs. Implemented by the source generator for types marked
/// <see cref="ModelInputAttribute"/>; not meant to be implemented by hand.
/// </summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
public interface IModelInput<TSelf>
    where TSelf : IModelInput<TSelf>
{
    /// <summary>The model inputs this type fills, in the order <see cref="WriteRow"/> indexes them.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    static abstract IReadOnlyList<TensorDeclaration> InputTensors { get; }

    /// <summary>Writes <paramref name="value"/> into row <paramref name="row"/> of each input tensor.</summary>
    /// <exception cref="ArgumentException">A vector member has the wrong length; the message names the member, the row and the lengths.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    static abstract void WriteRow(in TSelf value, int row, BatchTensors tensors);

    /// <summary>
    /// Writes <paramref name="values"/> into rows 0 to <c>values.Length - 1</c> of each input tensor. This
    /// default calls <see cref="WriteRow"/> per row; the generator overrides it with one loop that looks each
    /// tensor up once per batch instead of once per row.
    /// </summary>
    /// <exception cref="ArgumentException">A vector member has the wrong length; the message names the member, the row and the lengths.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    static virtual void WriteRows(ReadOnlySpan<TSelf> values, BatchTensors tensors)
    {
        for (var row = 0; row < values.Length; row++)
        {
            TSelf.WriteRow(values[row], row, tensors);
        }
    }
}

/// <summary>
/// A type built from rows of model outputs. Implemented by the source generator for types marked
/// <see cref="ModelOutputAttribute"/>; not meant to be implemented by hand.
/// </summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
public interface IModelOutput<TSelf>
    where TSelf : IModelOutput<TSelf>
{
    /// <summary>The model outputs this type reads, in the order <see cref="ReadRow"/> indexes them.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    static abstract IReadOnlyList<TensorDeclaration> OutputTensors { get; }

    /// <summary>Builds the value held in row <paramref name="row"/> of each output tensor.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    static abstract TSelf ReadRow(int row, BatchTensors tensors);

    /// <summary>
    /// Builds <c>destination[i]</c> from row <c>i</c> of each output tensor. This default calls
    /// <see cref="ReadRow"/> per row; the generator overrides it with one loop that looks each tensor up once per
    /// batch instead of once per row.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    static virtual void ReadRows(BatchTensors tensors, Span<TSelf> destination)
    {
        for (var row = 0; row < destination.Length; row++)
        {
            destination[row] = TSelf.ReadRow(row, tensors);
        }
    }
}
