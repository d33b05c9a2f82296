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
            ((nint)OrtApi.GetBuildInfoString, 254),
        };

        Assert.All(expected, e => Assert.Equal(Slot(e.Index), e.Pointer));
    }
}
