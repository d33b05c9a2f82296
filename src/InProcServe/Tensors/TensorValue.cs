using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using InProcServe.Tensors;
using Microsoft.ML.OnnxRuntime;
using Ort = Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// A tensor ONNX Runtime can read or write: an <c>OrtValue</c> over memory that is either yours
/// (<see cref="Create{T}(Memory{T}, ReadOnlySpan{long})"/>: pinned, never copied) or ONNX Runtime's
/// (<see cref="Allocate{T}"/>, and the outputs of <see cref="ModelSession.Run(ReadOnlySpan{NamedTensor}, CancellationToken)"/>).
/// </summary>
/// <remarks>
/// A tensor can be reused across any number of runs, also concurrently as an input. Dispose it when done:
/// that releases the native value and unpins your memory, or frees ONNX Runtime's. A span from
/// <see cref="GetSpan{T}"/> must not be used after <see cref="Dispose"/>. Disposing while a run still
/// reads the tensor is safe: the native value is released when that run returns.
/// </remarks>
public sealed unsafe class TensorValue : IDisposable
{
    private readonly long[] shape;
    private readonly void* data;

    private TensorValue(OrtValue value, MemoryHandle pin, TensorElementType elementType, long[] shape, long elementCount, void* data)
    {
        Value = value;
        Guard = new CallGuard(value, pin.Pointer is null ? null : pin.Dispose);
        ElementType = elementType;
        this.shape = shape;
        ElementCount = elementCount;
        this.data = data;
    }

    /// <summary>The element type.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<long> Shape => shape;

    /// <summary>The number of elements: the product of <see cref="Shape"/>.</summary>
    public long ElementCount { get; }

    /// <summary>The ONNX Runtime value; use it only between <see cref="Guard"/>'s TryAddRef and release.</summary>
    internal OrtValue Value { get; }

    /// <summary>Keeps <see cref="Value"/> alive while runs use it, also across Dispose.</summary>
    internal CallGuard Guard { get; }

    /// <summary>Wraps an array as a tensor of the given shape, without copying it.</summary>
    /// <inheritdoc cref="Create{T}(Memory{T}, ReadOnlySpan{long})"/>
    public static TensorValue Create<T>(T[] data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        return Create(data.AsMemory(), shape);
    }

    /// <summary>Wraps memory you own as a tensor of the given shape, without copying it.</summary>
    /// <typeparam name="T">
    /// The element type: float, double, Half, sbyte, short, int, long, byte, ushort, uint, ulong or bool.
    /// </typeparam>
    /// <param name="data">The elements, row-major. Pinned until the tensor is disposed; writes to it are seen by later runs.</param>
    /// <param name="shape">The dimensions; their product must equal the length of <paramref name="data"/>.</param>
    /// <exception cref="ArgumentException">A dimension is negative, or the shape does not match the data's length.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not a tensor element type.</exception>
    public static TensorValue Create<T>(Memory<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        var elementType = TensorElement.Of<T>();
        var count = ElementCountOf(shape);
        if (count != data.Length)
        {
            throw new ArgumentException(
                $"The shape {TensorElement.FormatShape(shape)} holds {count} elements, but the {typeof(T).Name} data has {data.Length}.",
                nameof(data));
        }

        OrtEnvironment.EnsureCreated();
        var pin = data.Pin();
        try
        {
            var dimensions = shape.ToArray();
            var value = OrtErrors.Run(
                () => OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, (Ort.Tensors.TensorElementType)elementType, dimensions, (nint)pin.Pointer, count * sizeof(T)),
                "Creating a tensor over .NET memory");
            return new TensorValue(value, pin, elementType, dimensions, count, pin.Pointer);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Allocates a zero-filled tensor in ONNX Runtime's memory: an output buffer to reuse across runs, or
    /// an input to fill through <see cref="GetSpan{T}"/>.
    /// </summary>
    /// <typeparam name="T">The element type, as for <see cref="Create{T}(Memory{T}, ReadOnlySpan{long})"/>.</typeparam>
    /// <param name="shape">The dimensions.</param>
    /// <exception cref="ArgumentException">A dimension is negative.</exception>
    public static TensorValue Allocate<T>(ReadOnlySpan<long> shape)
        where T : unmanaged => Allocate(TensorElement.Of<T>(), shape);

    /// <summary>Allocates a zero-filled tensor of a numeric or bool element type named at run time.</summary>
    internal static TensorValue Allocate(TensorElementType elementType, ReadOnlySpan<long> shape)
    {
        var size = TensorElement.SizeOf(elementType);
        if (size == 0) throw new NotSupportedException($"Can't allocate a tensor of {TensorElement.Name(elementType)} elements.");
        var count = ElementCountOf(shape);
        OrtEnvironment.EnsureCreated();
        var dimensions = shape.ToArray();
        var value = OrtErrors.Run(
            () => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (Ort.Tensors.TensorElementType)elementType, dimensions),
            "Allocating a tensor");
        var tensor = Wrap(value, elementType, dimensions, count);
        new Span<byte>(tensor.data, checked((int)(count * size))).Clear();
        return tensor;
    }

    /// <summary>Copies the elements of a tensor of the same element type and shape into this one.</summary>
    internal void CopyFrom(TensorValue source)
    {
        if (source.ElementType != ElementType || !source.Shape.SequenceEqual(Shape) || ElementType == TensorElementType.String)
        {
            throw new ArgumentException($"Can't copy a {source} tensor into a {this} tensor.", nameof(source));
        }

        new ReadOnlySpan<byte>(source.data, checked((int)(ElementCount * TensorElement.SizeOf(ElementType))))
            .CopyTo(new Span<byte>(data, checked((int)(ElementCount * TensorElement.SizeOf(ElementType)))));
    }

    /// <summary>
    /// Creates a string tensor. Strings can't be shared with ONNX Runtime, which keeps its own: they are
    /// encoded as UTF-8 and copied in.
    /// </summary>
    /// <param name="values">The strings, row-major.</param>
    /// <param name="shape">The dimensions; their product must equal the number of strings.</param>
    /// <exception cref="ArgumentException">A dimension is negative, the shape does not match the count, or a string is null.</exception>
    public static TensorValue CreateStrings(ReadOnlySpan<string> values, ReadOnlySpan<long> shape)
    {
        var count = ElementCountOf(shape);
        if (count != values.Length)
        {
            throw new ArgumentException(
                $"The shape {TensorElement.FormatShape(shape)} holds {count} elements, but {values.Length} strings were given.", nameof(values));
        }

        foreach (var value in values)
        {
            if (value is null)
            {
                throw new ArgumentException("A string tensor can't hold null; use \"\" for an empty string.", nameof(values));
            }
        }

        OrtEnvironment.EnsureCreated();
        var dimensions = shape.ToArray();
        var created = OrtErrors.Run(() => OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, dimensions), "Allocating a string tensor");
        try
        {
            for (var i = 0; i < values.Length; i++)
            {
                var text = values[i];
                var index = i;
                OrtErrors.Run(() => created.StringTensorSetElementAt(text.AsSpan(), index), "Filling a string tensor");
            }

            return new TensorValue(created, default, TensorElementType.String, dimensions, count, data: null);
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>Copies the strings out of a string tensor, row-major.</summary>
    /// <exception cref="InvalidOperationException">The tensor does not hold strings.</exception>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public string[] GetStrings()
    {
        ObjectDisposedException.ThrowIf(Guard.IsDisposeRequested, this);
        if (ElementType != TensorElementType.String)
        {
            throw new InvalidOperationException($"This tensor holds {TensorElement.Name(ElementType)} elements, not strings; read it with GetSpan.");
        }

        return OrtErrors.Run(Value.GetStringTensorAsArray, "Reading a string tensor");
    }

    /// <summary>The elements as a span, row-major. Valid until the tensor is disposed.</summary>
    /// <typeparam name="T">The .NET type of <see cref="ElementType"/>.</typeparam>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the tensor's element type.</exception>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public Span<T> GetSpan<T>()
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(Guard.IsDisposeRequested, this);
        var requested = TensorElement.Of<T>();
        if (requested != ElementType)
        {
            throw new InvalidOperationException(
                $"This tensor holds {TensorElement.Name(ElementType)} elements; it can't be read as {typeof(T).Name} ({TensorElement.Name(requested)}).");
        }

        return new Span<T>(data, checked((int)ElementCount));
    }

    /// <summary>The elements' bytes, row-major (numeric and bool tensors); valid until the tensor is disposed.</summary>
    internal Span<byte> Bytes => new(data, checked((int)(ElementCount * TensorElement.SizeOf(ElementType))));

    /// <summary>Releases the native value; unpins your memory or frees ONNX Runtime's.</summary>
    public void Dispose() => Guard.Dispose();

    /// <summary>The element type and shape, such as "float32[16,30]".</summary>
    public override string ToString() => TensorElement.Name(ElementType) + TensorElement.FormatShape(shape);

    /// <summary>Takes ownership of a value ONNX Runtime allocated (a run output) and reads its type and shape.</summary>
    /// <exception cref="NotSupportedException">The value is not a tensor of a bindable element type (it is released).</exception>
    internal static TensorValue FromOwnedValue(OrtValue value, string description)
    {
        try
        {
            if (!value.IsTensor)
            {
                throw new NotSupportedException($"{description} is not a tensor (a sequence, map or optional); only tensors are supported.");
            }

            var info = value.GetTensorTypeAndShape();
            var elementType = (TensorElementType)info.ElementDataType;
            if (TensorElement.SizeOf(elementType) == 0 && elementType != TensorElementType.String)
            {
                throw new NotSupportedException($"{description} holds {TensorElement.Name(elementType)} elements, which have no .NET type here.");
            }

            var shape = info.Shape;
            return Wrap(value, elementType, shape, ElementCountOf(shape));
        }
        catch (Ort.OnnxRuntimeException e)
        {
            value.Dispose();
            throw OrtErrors.Translate(e, description);
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }

    private static TensorValue Wrap(OrtValue value, TensorElementType elementType, long[] shape, long count)
    {
        // A string tensor's data is an array of C++ std::string, never exposed: strings are read with GetStrings.
        void* data = null;
        if (elementType != TensorElementType.String)
        {
            data = Unsafe.AsPointer(ref MemoryMarshal.GetReference(value.GetTensorMutableRawData()));
        }

        return new TensorValue(value, default, elementType, shape, count, data);
    }

    private static long ElementCountOf(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
            {
                throw new ArgumentException($"A tensor's dimensions can't be negative; the shape was {TensorElement.FormatShape(shape)}.", nameof(shape));
            }

            count = checked(count * dimension);
        }

        return count;
    }
}
