using System.Buffers;
using System.Runtime.InteropServices;

namespace InProcServe.Native;

// One SafeHandle type per native ONNX Runtime object. SafeHandle's reference count is what makes
// disposal safe while other threads still call: every native call on a shared object runs between
// TryAddRef and DangerousRelease, so Dispose only marks the handle and the native object is released
// when the last call in flight returns.

/// <summary>Base of every ONNX Runtime handle: NULL is invalid.</summary>
internal abstract class OrtHandle : SafeHandle
{
    private volatile bool disposeRequested;

    protected OrtHandle()
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>Whether Dispose was called, even if calls in flight still keep the native object alive.</summary>
    internal bool IsDisposeRequested => disposeRequested;

    /// <summary>
    /// Takes a reference for one native call, or returns false once Dispose was called. SafeHandle alone
    /// would still hand out references while earlier calls keep it open; new calls must be refused at once.
    /// </summary>
    internal bool TryAddRef()
    {
        if (disposeRequested)
        {
            return false;
        }

        var added = false;
        try
        {
            DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
        }

        return added;
    }

    protected override void Dispose(bool disposing)
    {
        disposeRequested = true;
        base.Dispose(disposing);
    }
}

/// <summary>
/// An <c>OrtSession*</c>, plus the UTF-8 input and output names that every Run passes back and its share of
/// the weights it was created with.
/// </summary>
internal sealed unsafe class OrtSessionHandle : OrtHandle
{
    /// <summary>The initializers and pre-packed weights the session reads; given back only after the session is released.</summary>
    private readonly SharedWeights? weights;

    /// <summary>One native block: the name pointers (inputs, then outputs) followed by the NUL-terminated names.</summary>
    private byte* names;
    private int inputCount;

    internal OrtSessionHandle(nint session, SharedWeights? weights)
    {
        SetHandle(session);
        this.weights = weights;
    }

    /// <summary><c>const char*</c> per model input, in model order.</summary>
    internal byte** InputNames => (byte**)names;

    /// <summary><c>const char*</c> per model output, in model order.</summary>
    internal byte** OutputNames => (byte**)names + inputCount;

    /// <summary>Copies the names into native memory that lives as long as the session.</summary>
    internal void SetNames(IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        var all = inputs.Concat(outputs).ToArray();
        var pointerBytes = all.Length * sizeof(byte*);
        var textBytes = all.Sum(name => System.Text.Encoding.UTF8.GetByteCount(name) + 1);
        var block = (byte*)NativeMemory.Alloc((nuint)(pointerBytes + textBytes));
        var text = block + pointerBytes;
        for (var i = 0; i < all.Length; i++)
        {
            ((byte**)block)[i] = text;
            var written = System.Text.Encoding.UTF8.GetBytes(all[i], new Span<byte>(text, textBytes));
            text[written] = 0;
            text += written + 1;
        }

        names = block;
        inputCount = inputs.Count;
    }

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseSession(handle);
        NativeMemory.Free(names);
        names = null;
        weights?.Release();
        return true;
    }
}

/// <summary>
/// An <c>OrtValue*</c>. When the value is a tensor over caller memory, the handle also holds the pin on
/// that memory, released only after the value: ONNX Runtime does not own or copy the data.
/// </summary>
internal sealed unsafe class OrtValueHandle : OrtHandle
{
    private MemoryHandle pin;

    internal OrtValueHandle(nint value, MemoryHandle pin = default)
    {
        SetHandle(value);
        this.pin = pin;
    }

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseValue(handle);
        pin.Dispose();
        return true;
    }
}

/// <summary>An <c>OrtSessionOptions*</c>; short-lived, released once the session is created.</summary>
internal sealed unsafe class OrtSessionOptionsHandle : OrtHandle
{
    internal OrtSessionOptionsHandle(nint options) => SetHandle(options);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseSessionOptions(handle);
        return true;
    }
}

/// <summary>An <c>OrtTypeInfo*</c>; the tensor info cast from it is borrowed and lives as long as this.</summary>
internal sealed unsafe class OrtTypeInfoHandle : OrtHandle
{
    internal OrtTypeInfoHandle(nint typeInfo) => SetHandle(typeInfo);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseTypeInfo(handle);
        return true;
    }
}

/// <summary>An owned <c>OrtTensorTypeAndShapeInfo*</c>, as <c>GetTensorTypeAndShape</c> returns it.</summary>
internal sealed unsafe class OrtTensorTypeAndShapeInfoHandle : OrtHandle
{
    internal OrtTensorTypeAndShapeInfoHandle(nint info) => SetHandle(info);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseTensorTypeAndShapeInfo(handle);
        return true;
    }
}

/// <summary>An <c>OrtModelMetadata*</c>; read once at load.</summary>
internal sealed unsafe class OrtModelMetadataHandle : OrtHandle
{
    internal OrtModelMetadataHandle(nint metadata) => SetHandle(metadata);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseModelMetadata(handle);
        return true;
    }
}

/// <summary>An <c>OrtRunOptions*</c>: one per cancellable Run, so terminating it stops only that Run.</summary>
internal sealed unsafe class OrtRunOptionsHandle : OrtHandle
{
    internal OrtRunOptionsHandle(nint runOptions) => SetHandle(runOptions);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseRunOptions(handle);
        return true;
    }
}

/// <summary>An <c>OrtThreadingOptions*</c>; short-lived, released once the env is created.</summary>
internal sealed unsafe class OrtThreadingOptionsHandle : OrtHandle
{
    internal OrtThreadingOptionsHandle(nint options) => SetHandle(options);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseThreadingOptions(handle);
        return true;
    }
}

/// <summary>
/// An <c>OrtPrepackedWeightsContainer*</c>. ONNX Runtime requires it to outlive every session created
/// with it, so <see cref="SharedWeights"/> releases it only after the last of those sessions.
/// </summary>
internal sealed unsafe class OrtPrepackedWeightsContainerHandle : OrtHandle
{
    internal OrtPrepackedWeightsContainerHandle(nint container) => SetHandle(container);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleasePrepackedWeightsContainer(handle);
        return true;
    }
}

/// <summary>An <c>OrtCUDAProviderOptionsV2*</c>; short-lived, released once appended to session options.</summary>
internal sealed unsafe class OrtCudaProviderOptionsHandle : OrtHandle
{
    internal OrtCudaProviderOptionsHandle(nint options) => SetHandle(options);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseCUDAProviderOptions(handle);
        return true;
    }
}

/// <summary>An <c>OrtTensorRTProviderOptionsV2*</c>; short-lived, released once appended to session options.</summary>
internal sealed unsafe class OrtTensorRTProviderOptionsHandle : OrtHandle
{
    internal OrtTensorRTProviderOptionsHandle(nint options) => SetHandle(options);

    protected override bool ReleaseHandle()
    {
        OrtApi.ReleaseTensorRTProviderOptions(handle);
        return true;
    }
}
