using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore;

/// <summary>
/// The part of the Open Inference Protocol that no transport shapes, called by the REST endpoints and the gRPC service
/// alike: which models are served, finding a model and its version, and running a request on it.
/// </summary>
internal static class OpenInferenceModels
{
    /// <summary>Whether every model the protocol serves is ready, or optional.</summary>
    internal static bool ServerReady(IServiceProvider services) => ServedModels(services).All(m => m.Ready || m.Optional);

    /// <summary>
    /// Runs a read request on the version found, within its deadline: Triton's <c>timeout</c> parameter, else the
    /// model's <see cref="BatchingOptions.DefaultTimeout"/>; <paramref name="aborted"/> (the client gone, or its own
    /// deadline) stops it too.
    /// </summary>
    internal static async Task<RunOutputs> InferAsync(OpenInferenceServer server, ServedModel model, string? version, (long Version, ModelSession Session) served, InferenceRequestReader.Request request, CancellationToken aborted)
    {
        var timeout = request.Timeout ?? server.DefaultTimeout(model.Name);
        using var deadline = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline?.CancelAfter(timeout!.Value);
        return await RunAsync(deadline?.Token ?? aborted, model, version is null ? null : served.Version, served.Session, request).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the request on the model's lane. A typed model's version can be replaced by a reload while the request
    /// is read; its old session is then disposed, and the request runs once more on the version serving now (when the
    /// path named a version, only if that is still the one serving).
    /// </summary>
    private static async Task<RunOutputs> RunAsync(CancellationToken cancellationToken, ServedModel model, long? pinned, ModelSession session, InferenceRequestReader.Request request)
    {
        try
        {
            return await model.Lane!.RunAsync(session, request.Inputs, request.OutputNames, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException) when (model.Current?.Invoke() is { } current && current != session && (pinned is null || current.Metadata.Version == pinned))
        {
            return await model.Lane!.RunAsync(current, request.Inputs, request.OutputNames, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Finds the model and the version asked for (the highest when none is); null, or the 404 to answer.</summary>
    internal static InferenceError? Find(IServiceProvider services, string name, string? version, out ServedModel model, out (long Version, ModelSession Session)? served)
    {
        served = null;
        model = ServedModels(services).FirstOrDefault(m => m.Name == name)!;
        if (model is null)
        {
            if (!services.GetRequiredService<OpenInferenceServer>().Options.ListModelsInErrors) return NotFound($"No model named '{Clip(name)}'.");
            var names = string.Join(", ", ServedModels(services).Select(m => $"'{m.Name}'"));
            return NotFound($"No model named '{Clip(name)}'. Models served: {(names.Length == 0 ? "none" : names)}.");
        }

        if (!model.Ready) return null;
        if (version is null)
        {
            served = model.Versions[^1];
            return null;
        }

        foreach (var candidate in model.Versions)
        {
            if (candidate.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) == version) served = candidate;
        }

        return served is null
            ? NotFound($"Model '{name}' has no version '{Clip(version)}'. Versions served: {string.Join(", ", model.Versions.Select(v => v.Version))}.")
            : null;
    }

    private static InferenceError NotFound(string message) => new(StatusCodes.Status404NotFound, message);

    /// <summary>A name from the request, cut short: a 404 never echoes a long name back.</summary>
    private static string Clip(string text) => text.Length > 64 ? text[..64] + "…" : text;

    /// <summary>
    /// Every model of the app the protocol serves, typed (unless <see cref="OpenInferenceOptions.ServeTypedModels"/>
    /// is off) and from configuration, less <see cref="OpenInferenceOptions.HiddenModels"/>; versions in ascending order.
    /// </summary>
    internal static IEnumerable<ServedModel> ServedModels(IServiceProvider services)
    {
        var options = services.GetRequiredService<OpenInferenceServer>().Options;
        return AllModels(services, options).Where(m => !options.HiddenModels.Contains(m.Name));
    }

    private static IEnumerable<ServedModel> AllModels(IServiceProvider services, OpenInferenceOptions options)
    {
        foreach (var hosted in options.ServeTypedModels ? services.GetRequiredService<ModelCatalog>().Models : [])
        {
            var ready = hosted.State == ModelState.Ready;
            yield return new ServedModel(hosted.Name, ready, hosted.IsOptional, ready ? [(hosted.Version, hosted.Session)] : [], ready ? hosted.Lane : null, () => hosted.State == ModelState.Ready ? hosted.Session : null);
        }

        foreach (var untyped in services.GetRequiredService<UntypedModels>().Models)
        {
            yield return new ServedModel(untyped.Name, true, false, untyped.Versions.Select(v => (v.Key, v.Value)).ToList(), untyped.Lane, null);
        }
    }

    /// <summary>A model as the protocol sees it; <see cref="Current"/> gives a typed model's serving session after a reload.</summary>
    internal sealed record ServedModel(string Name, bool Ready, bool Optional, IReadOnlyList<(long Version, ModelSession Session)> Versions, ExecutionLane? Lane, Func<ModelSession?>? Current);
}
