using System.Runtime.InteropServices;
using InProcServe.Native;

namespace InProcServe.Tests.Native;

/// <summary>
/// Checks the function-pointer table against onnxruntime_c_api.h: slots are read here by the header's
/// indices, independently of OrtApi.cs, and called to prove they are the functions the header says.
/// </summary>
public sealed unsafe class OrtApiTests
{
    public OrtApiTests() => OnnxRuntime.Initialize();

    private static nint Slot(int index) => ((nint*)OrtLibrary.Table)[index];

    [Fact]
    public void Status_round_trips_through_slots_0_1_2_and_93()
    {
        var createStatus = (delegate* unmanaged<OnnxRuntimeErrorCode, byte*, nint>)Slot(0);
        var getErrorCode = (delegate* unmanaged<nint, OnnxRuntimeErrorCode>)Slot(1);
        var getErrorMessage = (delegate* unmanaged<nint, byte*>)Slot(2);
        var releaseStatus = (delegate* unmanaged<nint, void>)Slot(93);

        nint status;
        fixed (byte* message = "no such tensor\0"u8)
        {
            status = createStatus(OnnxRuntimeErrorCode.NotFound, message);
        }

        Assert.Equal(OnnxRuntimeErrorCode.NotFound, getErrorCode(status));
        Assert.Equal("no such tensor", Marshal.PtrToStringUTF8((nint)getErrorMessage(status)));
        releaseStatus(status);
    }

    [Fact]
    public void A_failed_status_becomes_one_OnnxRuntimeException_with_code_context_and_message()
    {
        nint status;
        fixed (byte* message = "bad shape\0"u8)
        {
            status = OrtApi.CreateStatus(OnnxRuntimeErrorCode.InvalidArgument, message);
        }

        var error = Assert.Throws<OnnxRuntimeException>(() => OrtStatus.Check(status, "Model 'm': Run failed"));

        Assert.Equal(OnnxRuntimeErrorCode.InvalidArgument, error.ErrorCode);
        Assert.Equal("Model 'm': Run failed: bad shape", error.Message);
        OrtStatus.Check(0); // NULL is success and throws nothing.
    }

    [Fact]
    public void Slot_254_is_GetBuildInfoString()
    {
        var getBuildInfoString = (delegate* unmanaged<byte*>)Slot(254);

        var info = Marshal.PtrToStringUTF8((nint)getBuildInfoString());

        Assert.StartsWith("ORT Build Info", info);
        Assert.Contains("build type=", info);
        Assert.Equal(info, OnnxRuntime.BuildInfo);
    }

    [Fact]
    public void Slots_125_and_126_list_and_release_the_providers()
    {
        var getAvailableProviders = (delegate* unmanaged<byte***, int*, nint>)Slot(125);
        var releaseAvailableProviders = (delegate* unmanaged<byte**, int, nint>)Slot(126);

        byte** names;
        int count;
        Assert.Equal(0, getAvailableProviders(&names, &count));
        var providers = new List<string>();
        for (var i = 0; i < count; i++)
        {
            providers.Add(Marshal.PtrToStringUTF8((nint)names[i])!);
        }

        Assert.Equal(0, releaseAvailableProviders(names, count));

        Assert.Contains("CPUExecutionProvider", providers);
        Assert.Equal(providers, OnnxRuntime.GetAvailableProviders());
    }

    [Fact]
    public void Slots_39_46_47_97_create_terminate_and_release_run_options()
    {
        var createRunOptions = (delegate* unmanaged<nint*, nint>)Slot(39);
        var setTerminate = (delegate* unmanaged<nint, nint>)Slot(46);
        var unsetTerminate = (delegate* unmanaged<nint, nint>)Slot(47);
        var releaseRunOptions = (delegate* unmanaged<nint, void>)Slot(97);

        nint runOptions;
        Assert.Equal(0, createRunOptions(&runOptions));
        Assert.NotEqual(0, runOptions);
        Assert.Equal(0, setTerminate(runOptions));
        Assert.Equal(0, unsetTerminate(runOptions));
        releaseRunOptions(runOptions);
    }

    [Fact]
    public void Slots_121_147_148_122_create_configure_and_release_threading_options()
    {
        var createThreadingOptions = (delegate* unmanaged<nint*, nint>)Slot(121);
        var setGlobalIntraOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(147);
        var setGlobalInterOpNumThreads = (delegate* unmanaged<nint, int, nint>)Slot(148);
        var releaseThreadingOptions = (delegate* unmanaged<nint, void>)Slot(122);

        nint options;
        Assert.Equal(0, createThreadingOptions(&options));
        Assert.NotEqual(0, options);
        Assert.Equal(0, setGlobalIntraOpNumThreads(options, 2));
        Assert.Equal(0, setGlobalInterOpNumThreads(options, 1));
        releaseThreadingOptions(options);
    }

    [Fact]
    public void Slots_166_and_167_create_and_release_a_prepacked_weights_container()
    {
        var createContainer = (delegate* unmanaged<nint*, nint>)Slot(166);
        var releaseContainer = (delegate* unmanaged<nint, void>)Slot(167);

        nint container;
        Assert.Equal(0, createContainer(&container));
        Assert.NotEqual(0, container);
        releaseContainer(container);
    }

    [Fact]
    public void The_binding_reads_the_header_indices()
    {
        // Index per name as in onnxruntime_c_api.h (0-based members of struct OrtApi).
        var expected = new (nint Pointer, int Index)[]
        {
            ((nint)OrtApi.Run, 9),
            ((nint)OrtApi.CreateSessionOptions, 10),
            ((nint)OrtApi.SetSessionGraphOptimizationLevel, 23),
            ((nint)OrtApi.SessionGetInputCount, 30),
            ((nint)OrtApi.CreateTensorWithDataAsOrtValue, 49),
            ((nint)OrtApi.GetSymbolicDimensions, 63),
            ((nint)OrtApi.CreateCpuMemoryInfo, 69),
            ((nint)OrtApi.ReleaseSession, 95),
            ((nint)OrtApi.ReleaseSessionOptions, 100),
            ((nint)OrtApi.SessionGetModelMetadata, 111),
            ((nint)OrtApi.ReleaseModelMetadata, 118),
            ((nint)OrtApi.ModelMetadataGetCustomMetadataMapKeys, 123),
            ((nint)OrtApi.ReleaseAvailableProviders, 126),
            ((nint)OrtApi.AddSessionConfigEntry, 130),
            ((nint)OrtApi.CreateEnvWithGlobalThreadPools, 119),
            ((nint)OrtApi.DisablePerSessionThreads, 120),
            ((nint)OrtApi.CreateThreadingOptions, 121),
            ((nint)OrtApi.ReleaseThreadingOptions, 122),
            ((nint)OrtApi.CreateAndRegisterAllocator, 144),
            ((nint)OrtApi.SetGlobalIntraOpNumThreads, 147),
            ((nint)OrtApi.SetGlobalInterOpNumThreads, 148),
            ((nint)OrtApi.AddInitializer, 150),
            ((nint)OrtApi.CreatePrepackedWeightsContainer, 166),
            ((nint)OrtApi.ReleasePrepackedWeightsContainer, 167),
            ((nint)OrtApi.CreateSessionWithPrepackedWeightsContainer, 168),
            ((nint)OrtApi.CreateSessionFromArrayWithPrepackedWeightsContainer, 169),
            ((nint)OrtApi.SessionOptionsAppendExecutionProvider_TensorRT_V2, 170),
            ((nint)OrtApi.CreateTensorRTProviderOptions, 171),
            ((nint)OrtApi.UpdateTensorRTProviderOptions, 172),
            ((nint)OrtApi.ReleaseTensorRTProviderOptions, 174),
            ((nint)OrtApi.SessionOptionsAppendExecutionProvider_CUDA_V2, 204),
            ((nint)OrtApi.CreateCUDAProviderOptions, 205),
            ((nint)OrtApi.UpdateCUDAProviderOptions, 206),
            ((nint)OrtApi.ReleaseCUDAProviderOptions, 208),
            ((nint)OrtApi.GetBuildInfoString, 254),
        };

        Assert.All(expected, e => Assert.Equal(Slot(e.Index), e.Pointer));
    }
}
