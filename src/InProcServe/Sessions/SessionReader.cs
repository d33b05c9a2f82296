using System.Collections.Frozen;
using System.Runtime.InteropServices;
using InProcServe.Native;

namespace InProcServe;

/// <summary>Reads a session's signature and metadata once, at load.</summary>
internal static unsafe class SessionReader
{
    internal static IReadOnlyList<TensorInfo> ReadSignature(nint session, bool input, string modelName)
    {
        var context = $"Model '{modelName}': reading its {(input ? "inputs" : "outputs")}";
        nuint count;
        OrtStatus.Check(input ? OrtApi.SessionGetInputCount(session, &count) : OrtApi.SessionGetOutputCount(session, &count), context);
        var infos = new TensorInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* rawName;
            nint typeInfo;
            OrtStatus.Check(input ? OrtApi.SessionGetInputName(session, i, OrtEnvironment.DefaultAllocator, &rawName) : OrtApi.SessionGetOutputName(session, i, OrtEnvironment.DefaultAllocator, &rawName), context);
            var name = OrtEnvironment.TakeString(rawName);
            OrtStatus.Check(input ? OrtApi.SessionGetInputTypeInfo(session, i, &typeInfo) : OrtApi.SessionGetOutputTypeInfo(session, i, &typeInfo), context);
            using var typeInfoHandle = new OrtTypeInfoHandle(typeInfo);
            infos[(int)i] = ReadTensorInfo(name, typeInfo, context);
        }

        return infos;
    }

    private static TensorInfo ReadTensorInfo(string name, nint typeInfo, string context)
    {
        OnnxType kind;
        OrtStatus.Check(OrtApi.GetOnnxTypeFromTypeInfo(typeInfo, &kind), context);
        if (kind != OnnxType.Tensor)
        {
            return new TensorInfo(name, TensorElementType.Undefined, [], []);
        }

        // Borrowed from typeInfo: not released here.
        nint tensorInfo;
        TensorElementType elementType;
        nuint rank;
        OrtStatus.Check(OrtApi.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo), context);
        OrtStatus.Check(OrtApi.GetTensorElementType(tensorInfo, &elementType), context);
        OrtStatus.Check(OrtApi.GetDimensionsCount(tensorInfo, &rank), context);
        var dimensions = new long[(int)rank];
        var symbols = new nint[(int)rank];
        fixed (long* dims = dimensions)
        fixed (nint* syms = symbols)
        {
            OrtStatus.Check(OrtApi.GetDimensions(tensorInfo, dims, rank), context);
            OrtStatus.Check(OrtApi.GetSymbolicDimensions(tensorInfo, (byte**)syms, rank), context);
        }

        var names = symbols.Select(symbol => Marshal.PtrToStringUTF8(symbol) is { Length: > 0 } text ? text : null);
        return new TensorInfo(name, elementType, [.. dimensions], [.. names]);
    }

    internal static ModelMetadata ReadMetadata(nint session, string modelName)
    {
        var context = $"Model '{modelName}': reading its metadata";
        var allocator = OrtEnvironment.DefaultAllocator;
        nint metadata;
        OrtStatus.Check(OrtApi.SessionGetModelMetadata(session, &metadata), context);
        using var metadataHandle = new OrtModelMetadataHandle(metadata);

        string Read(delegate* unmanaged<nint, nint, byte**, nint> getter)
        {
            byte* text;
            OrtStatus.Check(getter(metadataHandle.DangerousGetHandle(), allocator, &text), context);
            return OrtEnvironment.TakeString(text);
        }

        long version;
        OrtStatus.Check(OrtApi.ModelMetadataGetVersion(metadata, &version), context);

        byte** keys;
        long keyCount;
        OrtStatus.Check(OrtApi.ModelMetadataGetCustomMetadataMapKeys(metadata, allocator, &keys, &keyCount), context);
        var custom = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            for (long i = 0; i < keyCount; i++)
            {
                byte* value;
                OrtStatus.Check(OrtApi.ModelMetadataLookupCustomMetadataMap(metadata, allocator, keys[i], &value), context);
                custom[Marshal.PtrToStringUTF8((nint)keys[i]) ?? ""] = value is null ? "" : OrtEnvironment.TakeString(value);
            }
        }
        finally
        {
            for (long i = 0; i < keyCount; i++) OrtApi.AllocatorFree(allocator, keys[i]);
            if (keys is not null) OrtApi.AllocatorFree(allocator, keys);
        }

        return new ModelMetadata(
            Read(OrtApi.ModelMetadataGetProducerName),
            Read(OrtApi.ModelMetadataGetGraphName),
            Read(OrtApi.ModelMetadataGetDomain),
            Read(OrtApi.ModelMetadataGetDescription),
            version,
            custom.ToFrozenDictionary(StringComparer.Ordinal));
    }
}
