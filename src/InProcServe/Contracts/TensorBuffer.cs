using System.Runtime.InteropServices;
using InProcServe.Native;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// Native memory for one declared tensor of a batch, <see cref="Capacity"/> rows long, and the ONNX Runtime
/// values over its first n rows, made once per n and reused. Used by one caller at a time.
/// </summary>
internal sealed unsafe class TensorBuffer : IDisposable
{
    private readonly long[] shape;
    private readonly OrtValueHandle?[] values;

    /// <param name="declaration">The contract's tensor.</param>
    /// <param name="rowDimensions">The model's dimensions after the batch dimension, as ONNX Runtime must see them.</param>
    /// <param name="capacity">The most rows a batch holds.</param>
    internal TensorBuffer(TensorDeclaration declaration, long[] rowDimensions, int capacity)
    {
        Name = declaration.Name;
        ElementType = declaration.ElementType;
        RowLength = declaration.RowLength;
        Capacity = capacity;
        shape = [0, .. rowDimensions];
        values = new OrtValueHandle?[capacity + 1];
        var bytes = (nuint)capacity * (nuint)RowLength * (nuint)TensorElement.SizeOf(ElementType);
        // Cache-line aligned, and zeroed so a model never reads stale or uninitialized rows.
        Data = NativeMemory.AlignedAlloc(Math.Max(bytes, 1), 64);
        NativeMemory.Clear(Data, bytes);
        ByteLengthPerRow = (nuint)RowLength * (nuint)TensorElement.SizeOf(ElementType);
    }

    internal string Name { get; }

    internal TensorElementType ElementType { get; }

    internal int RowLength { get; }

    internal int Capacity { get; }

    internal void* Data { get; }

    private nuint ByteLengthPerRow { get; }

    /// <summary>The <c>OrtValue*</c> over the first <paramref name="rows"/> rows.</summary>
    internal nint Value(int rows) => (values[rows] ??= Create(rows)).DangerousGetHandle();

    public void Dispose()
    {
        foreach (var value in values)
        {
            value?.Dispose();
        }

        NativeMemory.AlignedFree(Data);
    }

    private OrtValueHandle Create(int rows)
    {
        shape[0] = rows;
        nint value;
        fixed (long* dimensions = shape)
        {
            OrtStatus.Check(
                OrtApi.CreateTensorWithDataAsOrtValue(OrtEnvironment.CpuMemoryInfo, Data, (nuint)rows * ByteLengthPerRow, dimensions, (nuint)shape.Length, ElementType, &value),
                $"Creating the batch tensor '{Name}'");
        }

        return new OrtValueHandle(value);
    }
}
