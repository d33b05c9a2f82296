using InProcServe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Runs a model added with <c>AddModel</c> on a serving cluster over the Open Inference Protocol (<see cref="ModelOptions.Remote"/>):
/// the same contract, handlers, batching, metrics and health check, with each batch sent as one infer request.
/// </summary>
public static class RemoteModelBuilderExtensions
{
    /// <summary>
    /// Runs the model on the servers at <paramref name="url"/> and <paramref name="moreUrls"/> (replicas of the same model)
    /// instead of loading it here; replaces a file, folder or bytes source set before.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="url">A server's root address, such as <c>http://triton:8000/</c>.</param>
    /// <param name="moreUrls">More replicas' addresses; calls are balanced across all of them.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder UseRemote(this IModelBuilder builder, Uri url, params Uri[] moreUrls) =>
        builder.UseRemote(remote => remote.Urls = [url, .. moreUrls]);

    /// <summary>
    /// Runs the model on a serving cluster instead of loading it here, configured by <paramref name="configure"/> (URLs, the
    /// model's name and version there, timeout, headers); replaces a file, folder or bytes source set before.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="configure">Sets the remote options; it must set at least one URL.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder UseRemote(this IModelBuilder builder, Action<RemoteOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.Configure(o =>
        {
            o.Path = null;
            o.Folder = null;
            o.ModelBytes = null;
            configure(o.Remote ??= new RemoteOptions());
        });
    }

    /// <summary>
    /// The named HttpClient (<see cref="RemoteOptions.HttpClientName"/>) that calls the model's servers, to add handlers,
    /// certificates, a proxy or telemetry to it (or, in tests, a test server's handler).
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <returns>The client's builder.</returns>
    public static IHttpClientBuilder AddRemoteHttpClient(this IModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Services.AddHttpClient(RemoteOptions.HttpClientName(builder.Name));
    }
}
