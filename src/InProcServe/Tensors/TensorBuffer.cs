using System.Runtime.InteropServices;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// Native memory for one declared tensor of a batch, <see cref="Capacity"/> rows long: generated binders write
/// and read its rows in place (<see cref="BatchTensors"/>), and <see cref="BatchBinding"/> hands it to ONNX Runtime
/// without a copy. Used by one caller at a time.
/// </summary>
internal sealed unsafe class TensorBuffer : IDisposable
{
    /// <param name="declaration">The contract's tensor.</param>
    /// <param name="rowDimensions">The model's dimensions after the batch dimension, as ONNX Runtime must see them.</param>
    /// <param name="capacity">The most rows a batch holds.</param>
    internal TensorBuffer(TensorDeclaration declaration, long[] rowDimensions, int capacity)
    {
        Name = declaration.Name;
        ElementType = declaration.ElementType;
        RowLength = declaration.RowLength;
        RowDimensions = rowDimensions;
        Capacity = capacity;
        BytesPerRow = RowLength * TensorElement.SizeOf(ElementType);
        var bytes = (nuint)capacity * (nuint)BytesPerRow;
        // Cache-line aligned, and zeroed so a model never reads stale or uninitialized rows.
        Data = NativeMemory.AlignedAlloc(Math.Max(bytes, 1), 64);
        NativeMemory.Clear(Data, bytes);
    }

    internal string Name { get; }

    internal TensorElementType ElementType { get; }

    internal int RowLength { get; }

    /// <summary>The dimensions after the batch dimension.</summary>
    internal long[] RowDimensions { get; }

    internal int Capacity { get; }

    internal int BytesPerRow { get; }

    internal void* Data { get; }

    public void Dispose() => NativeMemory.AlignedFree(Data);
}
