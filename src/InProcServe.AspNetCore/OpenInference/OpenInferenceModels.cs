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
    internal static bool ServerReady(IServiceProvider services) => ServedModels(services).All(m => m.State == ModelState.Ready || m.IsOptional);

    /// <summary>
    /// Runs a read request within its deadline: Triton's <c>timeout</c> parameter, else the model's
    /// <see cref="BatchingOptions.DefaultTimeout"/>; <paramref name="aborted"/> (the client gone, or its own deadline)
    /// stops it too. Pinned to <paramref name="pinned"/>, the version the request names; else the routing picks (the
    /// canary for its share), and the answer says which.
    /// </summary>
    internal static async Task<VersionedResponse<RunOutputs>> InferAsync(OpenInferenceServer server, HostedModel model, long? pinned, InferenceRequestReader.Request request, CancellationToken aborted)
    {
        var timeout = request.Timeout ?? server.DefaultTimeout(model.Name);
        using var deadline = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline?.CancelAfter(timeout!.Value);
        return await model.RunAsync(request.Inputs, request.OutputNames, pinned, deadline?.Token ?? aborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Finds the model and the signature of the version asked for (the primary when none is); null, or the 404 to
    /// answer. <paramref name="served"/> stays null when the model is not ready.
    /// </summary>
    internal static InferenceError? Find(IServiceProvider services, string name, string? version, out HostedModel model, out ModelSignature? served)
    {
        served = null;
        model = ServedModels(services).FirstOrDefault(m => m.Name == name)!;
        if (model is null)
        {
            if (!services.GetRequiredService<OpenInferenceServer>().Options.ListModelsInErrors) return NotFound($"No model named '{Clip(name)}'.");
            var names = string.Join(", ", ServedModels(services).Select(m => $"'{m.Name}'"));
            return NotFound($"No model named '{Clip(name)}'. Models served: {(names.Length == 0 ? "none" : names)}.");
        }

        if (model.State != ModelState.Ready) return null;
        long? pinned = null;
        if (version is not null)
        {
            pinned = long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && model.Versions.Contains(number) ? number : null;
            if (pinned is null) return NotFound($"Model '{name}' has no version '{Clip(version)}'. Versions served: {string.Join(", ", model.Versions.Order())}.");
        }

        try
        {
            served = model.GetSignature(pinned);
        }
        catch (Exception error) when (error is KeyNotFoundException or InvalidOperationException or ObjectDisposedException)
        {
            // The version left, or the model stopped, between the look and the read: answered as not ready.
        }

        return null;
    }

    /// <summary>The message for a model found but not serving (503, UNAVAILABLE), with why when its load failed.</summary>
    internal static string NotReady(HostedModel model) =>
        model.LoadError is { } error ? $"Model '{model.Name}' is not ready: {error.Message}" : $"Model '{model.Name}' is not ready.";

    private static InferenceError NotFound(string message) => new(StatusCodes.Status404NotFound, message);

    /// <summary>A name from the request, cut short: a 404 never echoes a long name back.</summary>
    internal static string Clip(string text) => text.Length > 64 ? text[..64] + "…" : text;

    /// <summary>
    /// Every model of the app the protocol serves: those served with no contract (from configuration and the model
    /// repository) and the typed ones (unless <see cref="OpenInferenceOptions.ServeTypedModels"/> is off), less
    /// <see cref="OpenInferenceOptions.HiddenModels"/>.
    /// </summary>
    internal static IEnumerable<HostedModel> ServedModels(IServiceProvider services)
    {
        var options = services.GetRequiredService<OpenInferenceServer>().Options;
        return services.GetRequiredService<ModelCatalog>().Models
            .Where(m => (options.ServeTypedModels || m.RequestType == typeof(IReadOnlyList<NamedTensor>)) && !options.HiddenModels.Contains(m.Name));
    }
}
