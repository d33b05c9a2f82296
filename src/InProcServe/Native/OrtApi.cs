using System.Runtime.CompilerServices;

namespace InProcServe.Native;

/// <summary>
/// The ONNX Runtime C API as function pointers read by index from the <c>OrtApi</c> table that
/// <c>OrtGetApiBase()->GetApi(version)</c> returns.
/// </summary>
/// <remarks>
/// Slot numbers are 0-based member indices of <c>struct OrtApi</c> in onnxruntime_c_api.h; the table is
/// append-only, so an index stays valid in every later version. The fields are <c>static readonly</c>
/// so the JIT treats them as constants after tiering: a call costs what a C call costs. This type's
/// static constructor runs only after <see cref="OrtLibrary.Table"/> was loaded successfully, so a
/// missing library surfaces as a clear <see cref="DllNotFoundException"/>, never as a
/// <see cref="TypeInitializationException"/>.
/// Pointer types: <c>nint</c> stands for every opaque native pointer (OrtStatus*, OrtSession*, …);
/// a NULL status means success.
/// </remarks>
internal static unsafe class OrtApi
{
    /// <summary>
    /// The API version requested from <c>GetApi</c>: the highest version whose functions are used here
    /// (GetBuildInfoString, slot 254, came with version 15: ONNX Runtime 1.15 or later).
    /// </summary>
    internal const uint Version = 15;

    // Status
    internal static readonly delegate* unmanaged<OnnxRuntimeErrorCode, byte*, nint> CreateStatus = (delegate* unmanaged<OnnxRuntimeErrorCode, byte*, nint>)Slot(0);
    internal static readonly delegate* unmanaged<nint, OnnxRuntimeErrorCode> GetErrorCode = (delegate* unmanaged<nint, OnnxRuntimeErrorCode>)Slot(1);
    internal static readonly delegate* unmanaged<nint, byte*> GetErrorMessage = (delegate* unmanaged<nint, byte*>)Slot(2);

    // Environment and sessions
    internal static readonly delegate* unmanaged<OrtLoggingLevel, byte*, nint*, nint> CreateEnv = (delegate* unmanaged<OrtLoggingLevel, byte*, nint*, nint>)Slot(3);
    internal static readonly delegate* unmanaged<nint, byte*, nint, nint*, nint> CreateSession = (delegate* unmanaged<nint, byte*, nint, nint*, nint>)Slot(7);
    internal static readonly delegate* unmanaged<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray = (delegate* unmanaged<nint, void*, nuint, nint, nint*, nint>)Slot(8);
    internal static readonly delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint> Run = (delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)Slot(9);

    // Session options
    internal static readonly delegate* unmanaged<nint*, nint> CreateSessionOptions = (delegate* unmanaged<nint*, nint>)Slot(10);
    internal static readonly delegate* unmanaged<nint, byte*, nint> SetOptimizedModelFilePath = (delegate* unmanaged<nint, byte*, nint>)Slot(11);
    internal static readonly delegate* unmanaged<nint, OrtExecutionMode, nint> SetSessionExecutionMode = (delegate* unmanaged<nint, OrtExecutionMode, nint>)Slot(13);
    internal static readonly delegate* unmanaged<nint, nint> EnableCpuMemArena = (delegate* unmanaged<nint, nint>)Slot(18);
    internal static readonly delegate* unmanaged<nint, nint> DisableCpuMemArena = (delegate* unmanaged<nint, nint>)Slot(19);
    internal static readonly delegate* unmanaged<nint, GraphOptimizationLevel, nint> SetSessionGraphOptimizationLevel = (delegate* unmanaged<nint, GraphOptimizationLevel, nint>)Slot(23);
    internal static readonly delegate* unmanaged<nint, int, nint> SetIntraOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(24);
    internal static readonly delegate* unmanaged<nint, int, nint> SetInterOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(25);

    // Session signature
    internal static readonly delegate* unmanaged<nint, nuint*, nint> SessionGetInputCount = (delegate* unmanaged<nint, nuint*, nint>)Slot(30);
    internal static readonly delegate* unmanaged<nint, nuint*, nint> SessionGetOutputCount = (delegate* unmanaged<nint, nuint*, nint>)Slot(31);
    internal static readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetInputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)Slot(33);
    internal static readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOutputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)Slot(34);
    internal static readonly delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetInputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)Slot(36);
    internal static readonly delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetOutputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)Slot(37);

    // Run options
    internal static readonly delegate* unmanaged<nint*, nint> CreateRunOptions = (delegate* unmanaged<nint*, nint>)Slot(39);
    internal static readonly delegate* unmanaged<nint, nint> RunOptionsSetTerminate = (delegate* unmanaged<nint, nint>)Slot(46);
    internal static readonly delegate* unmanaged<nint, nint> RunOptionsUnsetTerminate = (delegate* unmanaged<nint, nint>)Slot(47);

    // Values and tensors
    internal static readonly delegate* unmanaged<nint, long*, nuint, TensorElementType, nint*, nint> CreateTensorAsOrtValue = (delegate* unmanaged<nint, long*, nuint, TensorElementType, nint*, nint>)Slot(48);
    internal static readonly delegate* unmanaged<nint, void*, nuint, long*, nuint, TensorElementType, nint*, nint> CreateTensorWithDataAsOrtValue = (delegate* unmanaged<nint, void*, nuint, long*, nuint, TensorElementType, nint*, nint>)Slot(49);
    internal static readonly delegate* unmanaged<nint, int*, nint> IsTensor = (delegate* unmanaged<nint, int*, nint>)Slot(50);
    internal static readonly delegate* unmanaged<nint, void**, nint> GetTensorMutableData = (delegate* unmanaged<nint, void**, nint>)Slot(51);
    internal static readonly delegate* unmanaged<nint, byte**, nuint, nint> FillStringTensor = (delegate* unmanaged<nint, byte**, nuint, nint>)Slot(52);
    internal static readonly delegate* unmanaged<nint, nuint*, nint> GetStringTensorDataLength = (delegate* unmanaged<nint, nuint*, nint>)Slot(53);
    internal static readonly delegate* unmanaged<nint, void*, nuint, nuint*, nuint, nint> GetStringTensorContent = (delegate* unmanaged<nint, void*, nuint, nuint*, nuint, nint>)Slot(54);

    // Type information
    internal static readonly delegate* unmanaged<nint, nint*, nint> CastTypeInfoToTensorInfo = (delegate* unmanaged<nint, nint*, nint>)Slot(55);
    internal static readonly delegate* unmanaged<nint, OnnxType*, nint> GetOnnxTypeFromTypeInfo = (delegate* unmanaged<nint, OnnxType*, nint>)Slot(56);
    internal static readonly delegate* unmanaged<nint, TensorElementType*, nint> GetTensorElementType = (delegate* unmanaged<nint, TensorElementType*, nint>)Slot(60);
    internal static readonly delegate* unmanaged<nint, nuint*, nint> GetDimensionsCount = (delegate* unmanaged<nint, nuint*, nint>)Slot(61);
    internal static readonly delegate* unmanaged<nint, long*, nuint, nint> GetDimensions = (delegate* unmanaged<nint, long*, nuint, nint>)Slot(62);
    internal static readonly delegate* unmanaged<nint, byte**, nuint, nint> GetSymbolicDimensions = (delegate* unmanaged<nint, byte**, nuint, nint>)Slot(63);
    internal static readonly delegate* unmanaged<nint, nint*, nint> GetTensorTypeAndShape = (delegate* unmanaged<nint, nint*, nint>)Slot(65);

    // Memory
    internal static readonly delegate* unmanaged<OrtAllocatorType, OrtMemType, nint*, nint> CreateCpuMemoryInfo = (delegate* unmanaged<OrtAllocatorType, OrtMemType, nint*, nint>)Slot(69);
    internal static readonly delegate* unmanaged<nint, void*, nint> AllocatorFree = (delegate* unmanaged<nint, void*, nint>)Slot(76);
    internal static readonly delegate* unmanaged<nint*, nint> GetAllocatorWithDefaultOptions = (delegate* unmanaged<nint*, nint>)Slot(78);

    // Release functions (void, accept NULL)
    internal static readonly delegate* unmanaged<nint, void> ReleaseEnv = (delegate* unmanaged<nint, void>)Slot(92);
    internal static readonly delegate* unmanaged<nint, void> ReleaseStatus = (delegate* unmanaged<nint, void>)Slot(93);
    internal static readonly delegate* unmanaged<nint, void> ReleaseMemoryInfo = (delegate* unmanaged<nint, void>)Slot(94);
    internal static readonly delegate* unmanaged<nint, void> ReleaseSession = (delegate* unmanaged<nint, void>)Slot(95);
    internal static readonly delegate* unmanaged<nint, void> ReleaseValue = (delegate* unmanaged<nint, void>)Slot(96);
    internal static readonly delegate* unmanaged<nint, void> ReleaseRunOptions = (delegate* unmanaged<nint, void>)Slot(97);
    internal static readonly delegate* unmanaged<nint, void> ReleaseTypeInfo = (delegate* unmanaged<nint, void>)Slot(98);
    internal static readonly delegate* unmanaged<nint, void> ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged<nint, void>)Slot(99);
    internal static readonly delegate* unmanaged<nint, void> ReleaseSessionOptions = (delegate* unmanaged<nint, void>)Slot(100);

    // Model metadata
    internal static readonly delegate* unmanaged<nint, nint*, nint> SessionGetModelMetadata = (delegate* unmanaged<nint, nint*, nint>)Slot(111);
    internal static readonly delegate* unmanaged<nint, nint, byte**, nint> ModelMetadataGetProducerName = (delegate* unmanaged<nint, nint, byte**, nint>)Slot(112);
    internal static readonly delegate* unmanaged<nint, nint, byte**, nint> ModelMetadataGetGraphName = (delegate* unmanaged<nint, nint, byte**, nint>)Slot(113);
    internal static readonly delegate* unmanaged<nint, nint, byte**, nint> ModelMetadataGetDomain = (delegate* unmanaged<nint, nint, byte**, nint>)Slot(114);
    internal static readonly delegate* unmanaged<nint, nint, byte**, nint> ModelMetadataGetDescription = (delegate* unmanaged<nint, nint, byte**, nint>)Slot(115);
    internal static readonly delegate* unmanaged<nint, nint, byte*, byte**, nint> ModelMetadataLookupCustomMetadataMap = (delegate* unmanaged<nint, nint, byte*, byte**, nint>)Slot(116);
    internal static readonly delegate* unmanaged<nint, long*, nint> ModelMetadataGetVersion = (delegate* unmanaged<nint, long*, nint>)Slot(117);
    internal static readonly delegate* unmanaged<nint, void> ReleaseModelMetadata = (delegate* unmanaged<nint, void>)Slot(118);
    internal static readonly delegate* unmanaged<nint, nint, byte***, long*, nint> ModelMetadataGetCustomMetadataMapKeys = (delegate* unmanaged<nint, nint, byte***, long*, nint>)Slot(123);

    // Providers, configuration, build
    internal static readonly delegate* unmanaged<byte***, int*, nint> GetAvailableProviders = (delegate* unmanaged<byte***, int*, nint>)Slot(125);
    internal static readonly delegate* unmanaged<byte**, int, nint> ReleaseAvailableProviders = (delegate* unmanaged<byte**, int, nint>)Slot(126);
    internal static readonly delegate* unmanaged<nint, byte*, byte*, nint> AddSessionConfigEntry = (delegate* unmanaged<nint, byte*, byte*, nint>)Slot(130);
    internal static readonly delegate* unmanaged<byte*> GetBuildInfoString = (delegate* unmanaged<byte*>)Slot(254);

    // Global thread pools (chosen when the env is created) and the env-registered allocator
    internal static readonly delegate* unmanaged<OrtLoggingLevel, byte*, nint, nint*, nint> CreateEnvWithGlobalThreadPools = (delegate* unmanaged<OrtLoggingLevel, byte*, nint, nint*, nint>)Slot(119);
    internal static readonly delegate* unmanaged<nint, nint> DisablePerSessionThreads = (delegate* unmanaged<nint, nint>)Slot(120);
    internal static readonly delegate* unmanaged<nint*, nint> CreateThreadingOptions = (delegate* unmanaged<nint*, nint>)Slot(121);
    internal static readonly delegate* unmanaged<nint, void> ReleaseThreadingOptions = (delegate* unmanaged<nint, void>)Slot(122);
    internal static readonly delegate* unmanaged<nint, nint, nint, nint> CreateAndRegisterAllocator = (delegate* unmanaged<nint, nint, nint, nint>)Slot(144);
    internal static readonly delegate* unmanaged<nint, int, nint> SetGlobalIntraOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(147);
    internal static readonly delegate* unmanaged<nint, int, nint> SetGlobalInterOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(148);

    // Weights shared between sessions: initializers over memory InProcServe owns, and their pre-packed form
    internal static readonly delegate* unmanaged<nint, byte*, nint, nint> AddInitializer = (delegate* unmanaged<nint, byte*, nint, nint>)Slot(150);
    internal static readonly delegate* unmanaged<nint*, nint> CreatePrepackedWeightsContainer = (delegate* unmanaged<nint*, nint>)Slot(166);
    internal static readonly delegate* unmanaged<nint, void> ReleasePrepackedWeightsContainer = (delegate* unmanaged<nint, void>)Slot(167);
    internal static readonly delegate* unmanaged<nint, byte*, nint, nint, nint*, nint> CreateSessionWithPrepackedWeightsContainer = (delegate* unmanaged<nint, byte*, nint, nint, nint*, nint>)Slot(168);
    internal static readonly delegate* unmanaged<nint, void*, nuint, nint, nint, nint*, nint> CreateSessionFromArrayWithPrepackedWeightsContainer = (delegate* unmanaged<nint, void*, nuint, nint, nint, nint*, nint>)Slot(169);

    // GPU execution providers, configured through opaque V2 option objects and key/value strings
    internal static readonly delegate* unmanaged<nint, nint, nint> SessionOptionsAppendExecutionProvider_TensorRT_V2 = (delegate* unmanaged<nint, nint, nint>)Slot(170);
    internal static readonly delegate* unmanaged<nint*, nint> CreateTensorRTProviderOptions = (delegate* unmanaged<nint*, nint>)Slot(171);
    internal static readonly delegate* unmanaged<nint, byte**, byte**, nuint, nint> UpdateTensorRTProviderOptions = (delegate* unmanaged<nint, byte**, byte**, nuint, nint>)Slot(172);
    internal static readonly delegate* unmanaged<nint, void> ReleaseTensorRTProviderOptions = (delegate* unmanaged<nint, void>)Slot(174);
    internal static readonly delegate* unmanaged<nint, nint, nint> SessionOptionsAppendExecutionProvider_CUDA_V2 = (delegate* unmanaged<nint, nint, nint>)Slot(204);
    internal static readonly delegate* unmanaged<nint*, nint> CreateCUDAProviderOptions = (delegate* unmanaged<nint*, nint>)Slot(205);
    internal static readonly delegate* unmanaged<nint, byte**, byte**, nuint, nint> UpdateCUDAProviderOptions = (delegate* unmanaged<nint, byte**, byte**, nuint, nint>)Slot(206);
    internal static readonly delegate* unmanaged<nint, void> ReleaseCUDAProviderOptions = (delegate* unmanaged<nint, void>)Slot(208);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nint Slot(int index) =>
        OrtLibrary.Table != 0
            ? ((nint*)OrtLibrary.Table)[index]
            : throw new InvalidOperationException("InProcServe bug: the ONNX Runtime API was used before OrtLibrary.EnsureLoaded.");
}
