using System.Runtime.CompilerServices;

namespace InProcServe;

/// <summary>
/// Calls on tensors, with no contract (the Open Inference Protocol's, a model served from configuration alone): the
/// same steps as a typed call with no handlers. The version is picked (or pinned) and leased, the tensors run on its
/// lane, where requests waiting together are joined into one batch, the lease is returned, and the call is recorded.
/// </summary>
/// <remarks>
/// Untyped calls are not copied to a shadow: their tensors belong to the caller, who may free them as soon as the call
/// returns, while a copy runs later.
/// </remarks>
internal sealed class UntypedCalls(ModelVersions versions, CallRecorder recorder)
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<VersionedResponse<RunOutputs>> RunAsync(IReadOnlyList<NamedTensor> inputs, IReadOnlyCollection<string>? outputNames, long? version, CancellationToken cancellationToken)
    {
        var started = recorder.Timestamp();
        using var activity = recorder.StartActivity(CallRecorder.Queued);
        ServingVersion? served = null;
        try
        {
            served = versions.Lease<object?>(null, null, version);
            RunOutputs outputs;
            try
            {
                var session = served.Session ?? throw new NotSupportedException(
                    $"Model '{served.Target.Name}' runs remotely ({served.Target.Origin}): its calls go through its contract; untyped calls are not forwarded, so call that server directly.");
                var serving = (PipelineVersion)served;
                var names = outputNames is { Count: > 0 } ? outputNames as string[] ?? [.. outputNames] : serving.OutputNames;
                outputs = await serving.Lane.RunAsync(session, inputs as NamedTensor[] ?? [.. inputs], names, (serving.Batching, serving), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                served.Release();
            }

            recorder.Record(started, CallRecorder.Queued, null, activity, served);
            return new(outputs, served.Version);
        }
        catch (Exception error)
        {
            recorder.Record(started, CallRecorder.Queued, error, activity, served);
            throw;
        }
    }
}
