using Microsoft.Extensions.Logging;

namespace InProcServe;

/// <summary>The host's log messages, source-generated so a disabled level costs a check.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Model '{Model}' loaded from {Source} (version {Version}, {ExecutionProvider}, lane '{Lane}') in {Milliseconds:0.0} ms.")]
    internal static partial void ModelLoaded(ILogger logger, string model, string source, long version, string executionProvider, string lane, double milliseconds);

    [LoggerMessage(2, LogLevel.Information, "Model '{Model}' warmed up at batch sizes {Sizes} in {Milliseconds:0.0} ms.")]
    internal static partial void ModelWarmedUp(ILogger logger, string model, string sizes, double milliseconds);

    [LoggerMessage(3, LogLevel.Critical, "Model '{Model}' failed to load; the host won't start.")]
    internal static partial void ModelLoadFailed(ILogger logger, string model, Exception error);

    [LoggerMessage(4, LogLevel.Error, "Optional model '{Model}' failed to load; the app keeps running, the model reports Unhealthy and its calls fail.")]
    internal static partial void OptionalModelLoadFailed(ILogger logger, string model, Exception error);

    [LoggerMessage(5, LogLevel.Information, "{Count} model(s) ready in {Milliseconds:0.0} ms.")]
    internal static partial void ModelsReady(ILogger logger, int count, double milliseconds);

    [LoggerMessage(6, LogLevel.Information, "Model '{Model}' reloaded: version {Version} serves, after version {PreviousVersion}, in {Milliseconds:0.0} ms.")]
    internal static partial void ModelReloaded(ILogger logger, string model, long previousVersion, long version, double milliseconds);

    [LoggerMessage(7, LogLevel.Error, "Model '{Model}': the new version failed to load; version {Version} goes on serving and the model reports Degraded until a reload succeeds.")]
    internal static partial void ModelReloadFailed(ILogger logger, string model, long version, Exception error);

    [LoggerMessage(8, LogLevel.Information, "Model '{Model}': version {Canary} takes {Percent}% of calls as canary; version {Primary} takes the rest.")]
    internal static partial void CanarySet(ILogger logger, string model, long canary, double percent, long primary);

    [LoggerMessage(9, LogLevel.Information, "Model '{Model}': canary version {Canary} promoted; version {Previous} was drained and released.")]
    internal static partial void CanaryPromoted(ILogger logger, string model, long canary, long previous);

    [LoggerMessage(10, LogLevel.Information, "Model '{Model}': canary version {Canary} rolled back; version {Primary} takes every call.")]
    internal static partial void CanaryRolledBack(ILogger logger, string model, long canary, long primary);

    [LoggerMessage(11, LogLevel.Warning, "Model '{Model}': changes to {Source} can't be watched, so they don't reload the model; ReloadAsync still does.")]
    internal static partial void WatchNotStarted(ILogger logger, string model, string source, Exception error);

    [LoggerMessage(12, LogLevel.Information, "Model '{Model}': version {Shadow} gets a copy of {Percent}% of calls as shadow; version {Primary} answers them.")]
    internal static partial void ShadowSet(ILogger logger, string model, long shadow, double percent, long primary);

    [LoggerMessage(13, LogLevel.Information, "Model '{Model}': shadow version {Shadow} stopped; its copies in flight finished.")]
    internal static partial void ShadowStopped(ILogger logger, string model, long shadow);

    [LoggerMessage(14, LogLevel.Information, "Model '{Model}': the reload left shadow version {Shadow} out of its versions, or made it the primary (version {Primary}); copies to it stopped.")]
    internal static partial void ShadowEnded(ILogger logger, string model, long shadow, long primary);

    [LoggerMessage(15, LogLevel.Warning, "Model '{Model}': a copy of a call sent to shadow version {Shadow} failed; the caller had its answer from version {Version}.")]
    internal static partial void ShadowCallFailed(ILogger logger, string model, long shadow, long version, Exception error);

    [LoggerMessage(16, LogLevel.Warning, "Model '{Model}': comparing version {Version}'s response with shadow version {Shadow}'s threw (CompareShadow).")]
    internal static partial void ShadowComparisonFailed(ILogger logger, string model, long version, long shadow, Exception error);

    [LoggerMessage(21, LogLevel.Warning, "Model '{Model}' of the model repository failed to load; it is not ready, and the repository's other models serve.")]
    internal static partial void RepositoryModelFailed(ILogger logger, string model, Exception error);

    [LoggerMessage(22, LogLevel.Information, "Model '{Model}' of the model repository is unloaded (its folder left, or an unload asked for it); its calls in flight finish first.")]
    internal static partial void RepositoryModelRemoved(ILogger logger, string model);

    [LoggerMessage(17, LogLevel.Information, "Model '{Model}' runs remotely: {Target}, contract checked against its metadata in {Milliseconds:0.0} ms.")]
    internal static partial void RemoteModelConnected(ILogger logger, string model, string target, double milliseconds);

    [LoggerMessage(18, LogLevel.Warning, "Model '{Model}': replica {Url} failed its recent calls; calls go to the other replicas for {Seconds:0.#} s before a trial call.")]
    internal static partial void RemoteReplicaOpened(ILogger logger, string model, string url, double seconds, Exception? error);

    [LoggerMessage(19, LogLevel.Information, "Model '{Model}': replica {Url} answers again and takes calls.")]
    internal static partial void RemoteReplicaClosed(ILogger logger, string model, string url);

    [LoggerMessage(20, LogLevel.Warning, "Model '{Model}': a call failed on the way and is tried once more, on another replica if there is one: {Error}")]
    internal static partial void RemoteCallRetried(ILogger logger, string model, string error);
}
