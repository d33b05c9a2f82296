using Microsoft.ML.OnnxRuntime;

namespace InProcServe;

/// <summary>ONNX Runtime's CPU provider: every session has it, so nothing is appended.</summary>
internal sealed class CpuExecutionProvider : ExecutionProvider
{
    public override string Name => "CPUExecutionProvider";

    public override int? DeviceId => null;

    internal override IReadOnlyList<string> RequiredProviders => [];

    public override string ToString() => "CPU";

    internal override void Validate(List<string> errors)
    {
    }

    internal override void Append(SessionOptions sessionOptions)
    {
    }
}
