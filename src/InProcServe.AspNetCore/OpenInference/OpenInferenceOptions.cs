namespace InProcServe.AspNetCore;

/// <summary>Limits of the Open Inference Protocol endpoints (<c>MapOpenInferenceProtocol</c>).</summary>
public sealed class OpenInferenceOptions
{
    /// <summary>The largest infer request body, in bytes; a larger one is answered 413. Default: 16 MiB.</summary>
    public int MaxRequestBodyBytes { get; set; } = 16 << 20;

    /// <summary>The most tensor elements, over all inputs, in one infer request; more is answered 413. Default: 1,048,576.</summary>
    public long MaxElementsPerRequest { get; set; } = 1 << 20;

    /// <summary>The server name in <c>GET /v2</c>. Default: "inprocserve".</summary>
    public string ServerName { get; set; } = "inprocserve";
}
