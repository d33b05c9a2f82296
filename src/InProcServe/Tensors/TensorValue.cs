using System.Runtime.InteropServices;
using System.Text;
using InProcServe.Native;
using InProcServe.Tensors;

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

    private TensorValue(OrtValueHandle handle, TensorElementType elementType, long[] shape, long elementCount, void* data)
    {
        Handle = handle;
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

    internal OrtValueHandle Handle { get; }

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
            nint value;
            fixed (long* dimensions = shape)
            {
                OrtStatus.Check(
                    OrtApi.CreateTensorWithDataAsOrtValue(
                        OrtEnvironment.CpuMemoryInfo, pin.Pointer, (nuint)(count * sizeof(T)), dimensions, (nuint)shape.Length, elementType, &value),
                    "Creating a tensor over .NET memory");
            }

            return new TensorValue(new OrtValueHandle(value, pin), elementType, shape.ToArray(), count, pin.Pointer);
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
        nint value;
        fixed (long* dimensions = shape)
        {
            OrtStatus.Check(
                OrtApi.CreateTensorAsOrtValue(OrtEnvironment.DefaultAllocator, dimensions, (nuint)shape.Length, elementType, &value),
                "Allocating a tensor");
        }

        var tensor = Wrap(new OrtValueHandle(value), elementType, shape.ToArray(), count);
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

        var bytes = 0;
        foreach (var value in values)
        {
            if (value is null)
            {
                throw new ArgumentException("A string tensor can't hold null; use \"\" for an empty string.", nameof(values));
            }

            bytes = checked(bytes + Encoding.UTF8.GetByteCount(value) + 1);
        }

        OrtEnvironment.EnsureCreated();
        nint created;
        fixed (long* dimensions = shape)
        {
            OrtStatus.Check(
                OrtApi.CreateTensorAsOrtValue(OrtEnvironment.DefaultAllocator, dimensions, (nuint)shape.Length, TensorElementType.String, &created),
                "Allocating a string tensor");
        }

        var tensor = new TensorValue(new OrtValueHandle(created), TensorElementType.String, shape.ToArray(), count, data: null);
        var text = (byte*)NativeMemory.Alloc((nuint)Math.Max(bytes, 1));
        var pointers = (byte**)NativeMemory.Alloc((nuint)Math.Max(values.Length, 1), (nuint)sizeof(byte*));
        try
        {
            var next = text;
            for (var i = 0; i < values.Length; i++)
            {
                pointers[i] = next;
                var written = Encoding.UTF8.GetBytes(values[i], new Span<byte>(next, bytes - (int)(next - text)));
                next[written] = 0;
                next += written + 1;
            }

            OrtStatus.Check(OrtApi.FillStringTensor(created, pointers, (nuint)values.Length), "Filling a string tensor");
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        finally
        {
            NativeMemory.Free(pointers);
            NativeMemory.Free(text);
        }
    }

    /// <summary>Copies the strings out of a string tensor, row-major.</summary>
    /// <exception cref="InvalidOperationException">The tensor does not hold strings.</exception>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public string[] GetStrings()
    {
        ObjectDisposedException.ThrowIf(Handle.IsDisposeRequested, this);
        if (ElementType != TensorElementType.String)
        {
            throw new InvalidOperationException($"This tensor holds {TensorElement.Name(ElementType)} elements, not strings; read it with GetSpan.");
        }

        var value = Handle.DangerousGetHandle();
        nuint length;
        OrtStatus.Check(OrtApi.GetStringTensorDataLength(value, &length), "Reading a string tensor");
        var content = new byte[(int)length];
        var offsets = new nuint[ElementCount];
        fixed (byte* contentPointer = content)
        fixed (nuint* offsetsPointer = offsets)
        {
            OrtStatus.Check(OrtApi.GetStringTensorContent(value, contentPointer, length, offsetsPointer, (nuint)offsets.Length), "Reading a string tensor");
        }

        // The strings are stored back to back without terminators; offset i is where string i starts.
        var strings = new string[offsets.Length];
        for (var i = 0; i < strings.Length; i++)
        {
            var end = i + 1 < offsets.Length ? (int)offsets[i + 1] : content.Length;
            strings[i] = Encoding.UTF8.GetString(content, (int)offsets[i], end - (int)offsets[i]);
        }

        return strings;
    }

    /// <summary>The elements as a span, row-major. Valid until the tensor is disposed.</summary>
    /// <typeparam name="T">The .NET type of <see cref="ElementType"/>.</typeparam>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not the tensor's element type.</exception>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public Span<T> GetSpan<T>()
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(Handle.IsDisposeRequested, this);
        var requested = TensorElement.Of<T>();
        if (requested != ElementType)
        {
            throw new InvalidOperationException(
                $"This tensor holds {TensorElement.Name(ElementType)} elements; it can't be read as {typeof(T).Name} ({TensorElement.Name(requested)}).");
        }

        return new Span<T>(data, checked((int)ElementCount));
    }

    /// <summary>Releases the native value; unpins your memory or frees ONNX Runtime's.</summary>
    public void Dispose() => Handle.Dispose();

    /// <summary>The element type and shape, such as "float32[16,30]".</summary>
    public override string ToString() => TensorElement.Name(ElementType) + TensorElement.FormatShape(shape);

    /// <summary>Takes ownership of a tensor ONNX Runtime allocated (a run output) and reads its type and shape.</summary>
    /// <exception cref="NotSupportedException">The value is not a tensor of a bindable element type (it is released).</exception>
    internal static TensorValue FromOwnedValue(nint value, string description)
    {
        var handle = new OrtValueHandle(value);
        try
        {
            int isTensor;
            OrtStatus.Check(OrtApi.IsTensor(value, &isTensor), description);
            if (isTensor == 0)
            {
                throw new NotSupportedException($"{description} is not a tensor (a sequence, map or optional); only tensors are supported.");
            }

            nint info;
            OrtStatus.Check(OrtApi.GetTensorTypeAndShape(value, &info), description);
            using var infoHandle = new OrtTensorTypeAndShapeInfoHandle(info);
            TensorElementType elementType;
            nuint rank;
            OrtStatus.Check(OrtApi.GetTensorElementType(info, &elementType), description);
            OrtStatus.Check(OrtApi.GetDimensionsCount(info, &rank), description);
            var shape = new long[(int)rank];
            fixed (long* dimensions = shape)
            {
                OrtStatus.Check(OrtApi.GetDimensions(info, dimensions, rank), description);
            }

            if (TensorElement.SizeOf(elementType) == 0 && elementType != TensorElementType.String)
            {
                throw new NotSupportedException($"{description} holds {TensorElement.Name(elementType)} elements, which have no .NET type here.");
            }

            return Wrap(handle, elementType, shape, ElementCountOf(shape));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static TensorValue Wrap(OrtValueHandle handle, TensorElementType elementType, long[] shape, long count)
    {
        // A string tensor's data is an array of C++ std::string, never exposed: strings are read with GetStrings.
        void* data = null;
        if (elementType != TensorElementType.String)
        {
            OrtStatus.Check(OrtApi.GetTensorMutableData(handle.DangerousGetHandle(), &data), "Reading tensor data");
        }

        return new TensorValue(handle, elementType, shape, count, data);
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
