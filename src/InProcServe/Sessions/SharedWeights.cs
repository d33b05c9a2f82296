using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>
/// The weights that the sessions of one model share: one copy of its initializers, and one pre-packed weights
/// container for the copies ONNX Runtime's kernels make in their own layout. Created for the first session of
/// a model, released after the last one.
/// </summary>
/// <remarks>
/// Left alone, every session deserializes its own initializers from the model and packs the large ones again
/// into the blocked layout its kernels compute with (MLAS GEMM panels): two copies of the weights per session.
/// ONNX Runtime shares pre-packed buffers only for initializers handed to it with AddInitializer, over memory
/// the caller owns and keeps alive, so this reads the initializers from the model file once, keeps them in
/// native memory, and gives every session the same values and the same container.
/// A container never evicts, so one for the whole process would keep the weights of every model ever
/// unloaded: hence one per model, released with its last session.
/// </remarks>
internal sealed unsafe class SharedWeights
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, SharedWeights> ByModel = new(StringComparer.Ordinal);

    private readonly string model;
    private readonly PrePackedWeightsContainer container;

    /// <summary>The initializer names, one per value.</summary>
    private readonly string[] names;

    /// <summary>Tensors over <see cref="data"/>; ONNX Runtime does not copy or own their memory.</summary>
    private readonly OrtValue[] values;

    /// <summary>One aligned native block holding every shared initializer's data.</summary>
    private readonly void* data;

    /// <summary>Sessions created with these weights and not yet released; guarded by <see cref="Gate"/>.</summary>
    private int sessions;

    private SharedWeights(string model, PrePackedWeightsContainer container, string[] names, OrtValue[] values, void* data)
    {
        this.model = model;
        this.container = container;
        this.names = names;
        this.values = values;
        this.data = data;
    }

    /// <summary>The pre-packed weights container, valid until the last session using it is released.</summary>
    internal PrePackedWeightsContainer Container => container;

    /// <summary>How many initializers the sessions share.</summary>
    internal int InitializerCount => values.Length;

    /// <summary>
    /// Takes a share of the weights of the model file at <paramref name="fullPath"/>, reading them for its first
    /// session. The key is the path, length and last write time: a file rewritten in place (a reload at the same
    /// path) gets new weights, and the old ones are freed with the old sessions.
    /// </summary>
    /// <returns>The shared weights; call <see cref="Release"/> once the session is released, or if creating it failed.</returns>
    internal static SharedWeights AcquireFile(string fullPath)
    {
        var file = new FileInfo(fullPath);
        var key = $"file:{file.FullName}|{file.Length}|{file.LastWriteTimeUtc.Ticks}";
        lock (Gate)
        {
            if (!ByModel.TryGetValue(key, out var shared))
            {
                if (file.Length == 0)
                {
                    // Nothing to map; ONNX Runtime reports the empty file when it loads it.
                    shared = Create(key, []);
                    shared.sessions++;
                    return shared;
                }

                // Mapped, not read into an array: the bytes are needed only until the initializers are copied out.
                using var mapped = MemoryMappedFile.CreateFromFile(fullPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                using var view = mapped.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* bytes = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref bytes);
                try
                {
                    shared = Create(key, new ReadOnlySpan<byte>(bytes + view.PointerOffset, (int)Math.Min(file.Length, int.MaxValue)));
                }
                finally
                {
                    view.SafeMemoryMappedViewHandle.ReleasePointer();
                }
            }

            shared.sessions++;
            return shared;
        }
    }

    /// <summary>Takes a share of the weights of a model given as bytes; sessions loaded from the same bytes (same SHA-256) share.</summary>
    /// <returns>The shared weights; call <see cref="Release"/> once the session is released, or if creating it failed.</returns>
    internal static SharedWeights AcquireBytes(ReadOnlySpan<byte> model)
    {
        var key = "sha256:" + Convert.ToHexString(SHA256.HashData(model));
        lock (Gate)
        {
            if (!ByModel.TryGetValue(key, out var shared))
            {
                shared = Create(key, model);
            }

            shared.sessions++;
            return shared;
        }
    }

    /// <summary>Hands every shared initializer to a session about to be created with <paramref name="sessionOptions"/>.</summary>
    internal void AddTo(SessionOptions sessionOptions, string context) =>
        OrtErrors.Run(() =>
        {
            for (var i = 0; i < values.Length; i++)
            {
                sessionOptions.AddInitializer(names[i], values[i]);
            }
        }, context);

    /// <summary>Gives back one session's share; the last one frees the weights, after every session that used them.</summary>
    internal void Release()
    {
        lock (Gate)
        {
            if (--sessions > 0)
            {
                return;
            }

            ByModel.Remove(model);
        }

        Free(container, values, data);
    }

    /// <summary>Copies the model's initializers into one native block and wraps each in a tensor; adds the result under <paramref name="key"/>.</summary>
    private static SharedWeights Create(string key, ReadOnlySpan<byte> model)
    {
        List<OnnxInitializerReader.Initializer> initializers;
        try
        {
            initializers = OnnxInitializerReader.Read(model);
        }
        catch (InvalidDataException)
        {
            // Not a well-formed model: nothing to share; ONNX Runtime reports the problem when it loads it.
            initializers = [];
        }

        const int Alignment = 64;
        var total = initializers.Sum(i => (long)AlignUp(i.Length, Alignment));
        var data = total == 0 ? null : (byte*)NativeMemory.AlignedAlloc((nuint)total, Alignment);
        var values = new OrtValue[initializers.Count];
        var created = 0;
        PrePackedWeightsContainer? container = null;
        try
        {
            var offset = 0L;
            foreach (var initializer in initializers)
            {
                var target = data + offset;
                model.Slice(initializer.Offset, initializer.Length).CopyTo(new Span<byte>(target, initializer.Length));
                var address = (nint)target;
                values[created++] = OrtErrors.Run(
                    () => OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, (Microsoft.ML.OnnxRuntime.Tensors.TensorElementType)initializer.ElementType, initializer.Shape, address, initializer.Length),
                    $"Sharing initializer '{initializer.Name}'");
                offset += AlignUp(initializer.Length, Alignment);
            }

            container = OrtErrors.Run(() => new PrePackedWeightsContainer(), "Creating a pre-packed weights container");
            var names = initializers.Select(i => i.Name).ToArray();
            var shared = new SharedWeights(key, container, names, values, data);
            ByModel.Add(key, shared);
            return shared;
        }
        catch
        {
            Free(container, values.AsSpan(0, created), data);
            throw;
        }
    }

    private static void Free(PrePackedWeightsContainer? container, ReadOnlySpan<OrtValue> values, void* data)
    {
        container?.Dispose();
        foreach (var value in values) value.Dispose();
        NativeMemory.AlignedFree(data);
    }

    private static int AlignUp(int length, int alignment) => (length + alignment - 1) / alignment * alignment;
}
