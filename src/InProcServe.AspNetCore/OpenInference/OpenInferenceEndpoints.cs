using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace InProcServe.AspNetCore;

/// <summary>
/// The Open Inference Protocol (KServe v2, Triton's REST API) over every model of the app: those added with
/// <c>AddModel</c> and those listed in configuration with no C# contract.
/// </summary>
public static class OpenInferenceEndpoints
{
    /// <summary>
    /// Adds what the protocol's endpoints need, with options from code and then from configuration
    /// (<c>InProcServe:OpenInference</c>: MaxRequestBodyBytes, MaxElementsPerRequest, LargeRequestBytes,
    /// MaxConcurrentLargeRequests, RetryAfter, ServeTypedModels, ListModelsInErrors, ServerName, HiddenModels), validated
    /// on start; and serves models from configuration alone: each
    /// <c>InProcServe:Models:&lt;name&gt;:Path</c> that no <c>AddModel</c> call claims, and each model folder of
    /// <c>InProcServe:ModelRepository</c> (Triton layout), loaded when the host starts.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configure">Sets limits. Default: null, the defaults of <see cref="OpenInferenceOptions"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddOpenInferenceProtocol(this IServiceCollection services, Action<OpenInferenceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddInProcServe();
        if (configure is not null) services.Configure(configure);
        services.TryAddSingleton<OpenInferenceServer>();
        services.TryAddSingleton(provider => new OpenInferenceConfiguration(provider.GetService<Microsoft.Extensions.Configuration.IConfiguration>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenInferenceOptions>, OpenInferenceConfiguration>(provider => provider.GetRequiredService<OpenInferenceConfiguration>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OpenInferenceOptions>, OpenInferenceConfiguration>(provider => provider.GetRequiredService<OpenInferenceConfiguration>()));
        services.AddOptions<OpenInferenceOptions>().ValidateOnStart();
        return services;
    }

    /// <summary>
    /// Maps the protocol's REST endpoints under <paramref name="prefix"/>: <c>GET /v2</c>, <c>/v2/health/live</c>,
    /// <c>/v2/health/ready</c>, <c>/v2/models/{name}[/versions/{version}]</c> (metadata), <c>…/ready</c>, and
    /// <c>POST …/infer</c> with JSON tensors. Infer requests run on the model's lane, taking turns with its typed calls.
    /// Errors answer <c>{"error": "…"}</c> with 400 (a bad request, naming the tensor, or inputs the model refuses),
    /// 404 (no such model or version), 413 (over the limits of <see cref="OpenInferenceOptions"/>), 415 (a Content-Type
    /// that is not JSON; none is taken as JSON), 429 (the model's queue is full, or too many large bodies at once),
    /// 503 (not ready) or 504 (past the deadline: Triton's <c>parameters.timeout</c> in microseconds, else the model's
    /// <see cref="BatchingOptions.DefaultTimeout"/>; the run is stopped). A 500 is a fault of the server: logged once,
    /// answered with no details. Floats NaN, Infinity and -Infinity are written and read as the strings
    /// <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>.
    /// </summary>
    /// <param name="endpoints">The app.</param>
    /// <param name="prefix">The route prefix. Default: "/v2".</param>
    /// <returns>The group, to add metadata or authorization to every endpoint.</returns>
    /// <exception cref="InvalidOperationException"><see cref="AddOpenInferenceProtocol"/> was not called.</exception>
    public static RouteGroupBuilder MapOpenInferenceProtocol(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string prefix = "/v2")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<OpenInferenceServer>() is null)
        {
            throw new InvalidOperationException("MapOpenInferenceProtocol() needs its services: add builder.Services.AddOpenInferenceProtocol() before building the app.");
        }

        // RequestDelegates, not lambdas with parameters: no reflection over handlers, so the app can be trimmed or AOT-compiled.
        var group = endpoints.MapGroup(prefix);
        group.MapGet("", ServerMetadata);
        group.MapGet("/health/live", context => Json(context, 200, w => w.WriteBoolean("live", true)));
        group.MapGet("/health/ready", ServerReady);
        foreach (var path in new[] { "/models/{name}", "/models/{name}/versions/{version}" })
        {
            group.MapGet(path, context => ModelMetadata(context, Route(context, "name")!, Route(context, "version")));
            group.MapGet(path + "/ready", context => ModelReady(context, Route(context, "name")!, Route(context, "version")));
            group.MapPost(path + "/infer", context => Infer(context, Route(context, "name")!, Route(context, "version")));
        }

        return group;
    }

    /// <summary>Messages keep their quotes readable: the answers are JSON, never embedded in HTML.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string? Route(HttpContext context, string key) => context.Request.RouteValues[key] as string;

    private static Task ServerMetadata(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<OpenInferenceOptions>>().Value;
        var version = typeof(OpenInferenceEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        return Json(context, 200, w =>
        {
            w.WriteString("name", options.ServerName);
            w.WriteString("version", version.Split('+')[0]);
            w.WriteStartArray("extensions");
            w.WriteEndArray();
        });
    }

    private static Task ServerReady(HttpContext context)
    {
        var ready = ServedModels(context.RequestServices).All(m => m.State == ModelState.Ready || m.IsOptional);
        return Json(context, ready ? 200 : 503, w => w.WriteBoolean("ready", ready));
    }

    private static Task ModelReady(HttpContext context, string name, string? version)
    {
        if (Find(context, name, version, out _, out var served) is { } missing) return missing;
        var ready = served is not null;
        // The protocol answers "not ready" with a 4xx status (Triton's is 400), and says why in the body.
        return Json(context, ready ? 200 : 400, w =>
        {
            w.WriteString("name", name);
            w.WriteBoolean("ready", ready);
        });
    }

    private static Task ModelMetadata(HttpContext context, string name, string? version)
    {
        if (Find(context, name, version, out var model, out var served) is { } missing) return missing;
        if (served is null) return Error(context, 503, NotReady(model));
        return Json(context, 200, w =>
        {
            w.WriteString("name", name);
            w.WriteStartArray("versions");
            foreach (var v in model.Versions.Order()) w.WriteStringValue(v.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteString("platform", "onnxruntime_onnx");
            WriteTensors(w, "inputs", served.Inputs);
            WriteTensors(w, "outputs", served.Outputs);
        });
    }

    private static async Task Infer(HttpContext context, string name, string? version)
    {
        if (Find(context, name, version, out var model, out var served) is { } missing)
        {
            await missing.ConfigureAwait(false);
            return;
        }

        var server = context.RequestServices.GetRequiredService<OpenInferenceServer>();
        var options = server.Options;
        try
        {
            if (served is null) throw new InferenceError(503, NotReady(model));
            // A missing Content-Type is taken as JSON: Triton's and KServe's clients send JSON infer requests without one.
            if (!JsonBody.IsJson(context.Request, allowMissing: true)) throw new InferenceError(415, JsonBody.UnsupportedMediaType(context.Request));
            using var body = await JsonBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, options.MaxElementsPerRequest + ValuesBesideData, MaxDepth, server.LargeBodies, "a JSON infer request with \"inputs\"", context.RequestAborted).ConfigureAwait(false);
            using var document = JsonDocument.Parse(body.Memory, new JsonDocumentOptions { MaxDepth = MaxDepth });
            using var request = InferenceRequestReader.Read(document.RootElement, served, options.MaxElementsPerRequest);
            var timeout = request.Timeout ?? server.DefaultTimeout(name);
            using var deadline = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline?.CancelAfter(timeout!.Value);
            // Pinned to the version the path names; else the routing picks (the canary for its share), and the answer says which.
            var (outputs, servedVersion) = await model.RunAsync(request.Inputs, request.OutputNames, version is null ? null : served.Version, deadline?.Token ?? context.RequestAborted).ConfigureAwait(false);
            using var disposeOutputs = outputs;

            // Written whole before a byte goes out: a failure while writing is still answered with a status, never
            // with half a body.
            var answer = new ArrayBufferWriter<byte>();
            await using (var json = new Utf8JsonWriter(answer, WriterOptions))
            {
                InferenceResponseWriter.Write(json, name, servedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), request.Id, outputs);
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.BodyWriter.WriteAsync(answer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (canceled, or the connection reset while its body was read); nobody reads an
            // answer, and it is no fault of the server to log.
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            var (status, message) = server.Describe(error, name);
            if (status is 429 or 503) context.Response.Headers.RetryAfter = ((int)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Error(context, status, message).ConfigureAwait(false);
        }
    }

    /// <summary>Deep enough for a tensor of rank 30 inside the request's own three levels; deeper is refused while it arrives.</summary>
    private const int MaxDepth = 36;

    /// <summary>The JSON values a request may hold beside its tensors' elements: names, datatypes, dimensions, parameters.</summary>
    private const long ValuesBesideData = 4096;

    /// <summary>
    /// Finds the model and the signature of the version asked for (the primary when none is); null, or the 404 to
    /// send. <paramref name="served"/> stays null when the model is not ready.
    /// </summary>
    private static Task? Find(HttpContext context, string name, string? version, out HostedModel model, out ModelSignature? served)
    {
        served = null;
        model = ServedModels(context.RequestServices).FirstOrDefault(m => m.Name == name)!;
        if (model is null)
        {
            if (!context.RequestServices.GetRequiredService<OpenInferenceServer>().Options.ListModelsInErrors) return Error(context, 404, $"No model named '{Clip(name)}'.");
            var names = string.Join(", ", ServedModels(context.RequestServices).Select(m => $"'{m.Name}'"));
            return Error(context, 404, $"No model named '{Clip(name)}'. Models served: {(names.Length == 0 ? "none" : names)}.");
        }

        if (model.State != ModelState.Ready) return null;
        long? pinned = null;
        if (version is not null)
        {
            pinned = long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && model.Versions.Contains(number) ? number : null;
            if (pinned is null) return Error(context, 404, $"Model '{name}' has no version '{Clip(version)}'. Versions served: {string.Join(", ", model.Versions.Order())}.");
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

    private static string NotReady(HostedModel model) =>
        model.LoadError is { } error ? $"Model '{model.Name}' is not ready: {error.Message}" : $"Model '{model.Name}' is not ready.";

    /// <summary>A name from the path, cut short: a 404 never echoes a long path back.</summary>
    private static string Clip(string text) => text.Length > 64 ? text[..64] + "…" : text;

    /// <summary>
    /// Every model of the app the protocol serves: those served with no contract (from configuration and the model
    /// repository) and the typed ones (unless <see cref="OpenInferenceOptions.ServeTypedModels"/> is off), less
    /// <see cref="OpenInferenceOptions.HiddenModels"/>.
    /// </summary>
    private static IEnumerable<HostedModel> ServedModels(IServiceProvider services)
    {
        var options = services.GetRequiredService<OpenInferenceServer>().Options;
        return services.GetRequiredService<ModelCatalog>().Models
            .Where(m => (options.ServeTypedModels || m.RequestType == typeof(IReadOnlyList<NamedTensor>)) && !options.HiddenModels.Contains(m.Name));
    }

    private static void WriteTensors(Utf8JsonWriter json, string property, IReadOnlyList<TensorInfo> tensors)
    {
        json.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            json.WriteStartObject();
            json.WriteString("name", tensor.Name);
            json.WriteString("datatype", DataTypes.Name(tensor.ElementType) ?? tensor.TypeAndShape);
            json.WriteStartArray("shape");
            foreach (var dimension in tensor.Shape) json.WriteNumberValue(dimension < 0 ? -1 : dimension);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static Task Error(HttpContext context, int status, string message) => Json(context, status, w => w.WriteString("error", message));

    private static async Task Json(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions);
        json.WriteStartObject();
        write(json);
        json.WriteEndObject();
    }
}
