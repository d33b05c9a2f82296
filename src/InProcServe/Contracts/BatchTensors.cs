using System.ComponentModel;
using System.Runtime.CompilerServices;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// The tensor memory of one batch, as generated binders see it: row <c>i</c> of tensor <c>t</c> as a span
/// over the memory ONNX Runtime reads or writes, so values are copied once, straight into place.
/// </summary>
public readonly unsafe struct BatchTensors
{
    private readonly TensorBuffer[] buffers;

    internal BatchTensors(TensorBuffer[] buffers) => this.buffers = buffers;

    /// <summary>Row <paramref name="row"/> of tensor <paramref name="tensor"/>: its <c>RowLength</c> elements.</summary>
    /// <typeparam name="T">The tensor's .NET element type.</typeparam>
    /// <param name="tensor">The tensor's index in the contract's declarations.</param>
    /// <param name="row">The row in the batch.</param>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Row<T>(int tensor, int row)
        where T : unmanaged
    {
        var buffer = buffers[tensor];
        if (TensorElement.Of<T>() != buffer.ElementType || (uint)row >= (uint)buffer.Capacity)
        {
            ThrowBadRow<T>(buffer, row);
        }

        return new Span<T>((T*)buffer.Data + (nint)row * buffer.RowLength, buffer.RowLength);
    }

    /// <summary>Rows 0 to <paramref name="rows"/> - 1 of tensor <paramref name="tensor"/>, row-major: row <c>i</c> is elements <c>[i * RowLength, (i + 1) * RowLength)</c>.</summary>
    /// <typeparam name="T">The tensor's .NET element type.</typeparam>
    /// <param name="tensor">The tensor's index in the contract's declarations.</param>
    /// <param name="rows">The rows in the batch.</param>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Rows<T>(int tensor, int rows)
        where T : unmanaged
    {
        var buffer = buffers[tensor];
        if (TensorElement.Of<T>() != buffer.ElementType || (uint)rows > (uint)buffer.Capacity)
        {
            ThrowBadRow<T>(buffer, rows - 1);
        }

        return new Span<T>(buffer.Data, rows * buffer.RowLength);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadRow<T>(TensorBuffer buffer, int row)
        where T : unmanaged =>
        throw new InvalidOperationException(
            $"Row {row} of '{buffer.Name}' read as {typeof(T).Name}: the tensor holds {TensorElement.Name(buffer.ElementType)} in {buffer.Capacity} rows.");

    /// <summary>Throws the error for a vector member of the wrong length.</summary>
    /// <param name="member">The member ("Transaction.Embedding").</param>
    /// <param name="row">The row in the batch.</param>
    /// <param name="expected">The declared length.</param>
    /// <param name="actual">The member's length.</param>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowLengthMismatch(string member, int row, int expected, int actual) =>
        throw new ArgumentException($"{member} in row {row} has {actual} elements; the model contract declares {expected}.");
}
