namespace InProcServe;

/// <summary>
/// One binding of the Open Inference Protocol (REST or gRPC) as a remote model uses it: the model's metadata and readiness
/// from one replica, and executors that send a batch to a replica. Failures surface as <see cref="HttpRequestException"/>
/// (with the HTTP status, or the one a gRPC status stands for), so one predicate (<see cref="RemoteReplicas.IsTransient"/>)
/// decides what is tried again on another replica.
/// </summary>
internal interface IRemoteTransport : IDisposable
{
    /// <summary>Reads the model's metadata from <paramref name="replica"/>.</summary>
    /// <exception cref="HttpRequestException">No answer, or an error answer (its status and the server's message).</exception>
    /// <exception cref="InvalidDataException">The answer is not model metadata.</exception>
    ValueTask<RemoteMetadata> MetadataAsync(RemoteReplica replica, CancellationToken cancellationToken);

    /// <summary>Completes when <paramref name="replica"/> says the model is ready.</summary>
    /// <exception cref="HttpRequestException">No answer, or the model is not ready there (the message says why).</exception>
    ValueTask ReadyAsync(RemoteReplica replica, CancellationToken cancellationToken);

    /// <summary>Creates what sends the batches of one set of buffers; used by one caller at a time, like the buffers.</summary>
    IBatchExecutor CreateExecutor(RemoteModel model, (string Name, TensorBuffer Buffer)[] inputs, (string Name, TensorBuffer Buffer)[] outputs);
}

/// <summary>A remote model's signature as its metadata gives it, and the versions the server lists.</summary>
internal sealed record RemoteMetadata(TensorInfo[] Inputs, TensorInfo[] Outputs, string[] Versions);
