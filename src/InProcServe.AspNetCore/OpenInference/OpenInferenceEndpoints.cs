using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Headers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace InProcServe.AspNetCore;

/// <summary>
/// The Open Inference Protocol (KServe v2, Triton) over every model of the app, those added with <c>AddModel</c> and
/// those listed in configuration with no C# contract: on REST with JSON and binary tensors
/// (<see cref="MapOpenInferenceProtocol"/>) and on gRPC (<see cref="MapOpenInferenceGrpc"/>).
/// </summary>
public static class OpenInferenceEndpoints
{
    /// <summary>
    /// Adds what the protocol's REST endpoints and gRPC service need (gRPC's services too, as <c>AddGrpc()</c> does),
    /// with options from code and then from configuration
    /// (<c>InProcServe:OpenInference</c>: MaxRequestBodyBytes, MaxElementsPerRequest, LargeRequestBytes,
    /// MaxConcurrentLargeRequests, RetryAfter, ServeTypedModels, ListModelsInErrors, ServerName, HiddenModels), validated
    /// on start; and serves models from configuration alone: each
    /// <c>InProcServe:Models:&lt;name&gt;:Path</c> that no <c>AddModel</c> call claims, and each model folder of
    /// <c>InProcServe:ModelRepository</c> (Triton layout), loaded when the host starts. The gRPC service takes messages
    /// up to <see cref="OpenInferenceOptions.MaxRequestBodyBytes"/>.
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
        // Registering gRPC costs nothing until MapOpenInferenceGrpc maps the service, and spares apps a second call.
        services.AddGrpc();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<GrpcServiceOptions<OpenInferenceGrpcService>>, GrpcLimits>());
        return services;
    }

    /// <summary>
    /// Maps the protocol's REST endpoints under <paramref name="prefix"/>: <c>GET /v2</c>, <c>/v2/health/live</c>,
    /// <c>/v2/health/ready</c>, <c>/v2/models/{name}[/versions/{version}]</c> (metadata), <c>…/ready</c>, and
    /// <c>POST …/infer</c> with JSON tensors. Infer requests run on the model's lane, taking turns with its typed calls.
    /// Triton's binary tensor extension (<c>binary_tensor_data</c> in server metadata) is served too: an input with
    /// <c>"parameters": {"binary_data_size": n}</c> takes its elements from the n bytes after the JSON, whose length
    /// the <c>Inference-Header-Content-Length</c> header gives (Content-Type <c>application/octet-stream</c>, or
    /// Triton's <c>application/vnd.sagemaker-triton.binary+json;json-header-size=…</c>); outputs asked for with
    /// <c>"parameters": {"binary_data": true}</c>, or all with the request's <c>"binary_data_output": true</c>, come
    /// back the same way. Binary elements are flat, row-major and little-endian (FP16 and BF16 their 2 bytes, BOOL a byte
    /// 0 or 1), BYTES elements each after a 4-byte little-endian length; sizes that don't add up are a 400 naming
    /// the input.
    /// Errors answer <c>{"error": "…"}</c> with 400 (a bad request, naming the tensor, or inputs the model refuses),
    /// 404 (no such model or version), 413 (over the limits of <see cref="OpenInferenceOptions"/>), 415 (a Content-Type
    /// that is neither JSON nor binary; none is taken as JSON), 429 (the model's queue is full, or too many large bodies at once),
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

        if (endpoints.ServiceProvider.GetRequiredService<OpenInferenceServer>().Options.RepositoryApi)
        {
            group.MapPost("/repository/index", RepositoryIndex);
            group.MapPost("/repository/models/{name}/load", context => RepositoryChange(context, Route(context, "name")!, load: true));
            group.MapPost("/repository/models/{name}/unload", context => RepositoryChange(context, Route(context, "name")!, load: false));
        }

        return group;
    }

    /// <summary>
    /// Triton's repository index: each model of the repository, once per loaded version with state READY, or once with
    /// UNAVAILABLE and the reason (not loaded, or why its load failed).
    /// </summary>
    private static Task RepositoryIndex(HttpContext context)
    {
        var catalog = context.RequestServices.GetRequiredService<ModelCatalog>();
        if (catalog.RepositoryPath is null) return Error(context, 400, "There is no model repository: set InProcServe:ModelRepository.");
        return JsonArray(context, w =>
        {
            foreach (var name in catalog.ListRepository())
            {
                var model = catalog.TryGetModel(name, out var found) ? found : null;
                if (model is { State: ModelState.Ready })
                {
                    foreach (var version in model.Versions.Order()) Entry(w, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "READY", "");
                }
                else
                {
                    Entry(w, name, "", "UNAVAILABLE", model?.LoadError?.Message ?? "unloaded");
                }
            }
        });

        static void Entry(Utf8JsonWriter w, string name, string version, string state, string reason)
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("version", version);
            w.WriteString("state", state);
            w.WriteString("reason", reason);
            w.WriteEndObject();
        }
    }

    /// <summary>Triton's repository load (which reloads a served model) and unload: 200 with <c>{}</c>, 404 for no such model, 400 with the cause.</summary>
    private static async Task RepositoryChange(HttpContext context, string name, bool load)
    {
        var catalog = context.RequestServices.GetRequiredService<ModelCatalog>();
        try
        {
            if (load) await catalog.LoadFromRepositoryAsync(name, context.RequestAborted).ConfigureAwait(false);
            else await catalog.UnloadFromRepositoryAsync(name).ConfigureAwait(false);
            await Json(context, 200, _ => { }).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            await Error(context, 404, $"The model repository has no model '{OpenInferenceModels.Clip(name)}' to {(load ? "load" : "unload")}.").ConfigureAwait(false);
        }
        catch (InvalidOperationException error)
        {
            await Error(context, 400, error.Message).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Maps the protocol's gRPC service, <c>inference.GRPCInferenceService</c> (ServerLive, ServerReady, ModelReady,
    /// ServerMetadata, ModelMetadata, ModelInfer), which Triton's and KServe's gRPC clients call unchanged. Inputs come
    /// in <c>raw_input_contents</c> or in each input's typed <c>contents</c>; outputs go back in
    /// <c>raw_output_contents</c>. The models, limits, deadlines (the call's gRPC deadline, Triton's <c>timeout</c>
    /// parameter in microseconds, else the model's <see cref="BatchingOptions.DefaultTimeout"/>) and messages are
    /// those of the REST endpoints, each REST status sent as a gRPC code: 400 INVALID_ARGUMENT, 404 NOT_FOUND,
    /// 413 RESOURCE_EXHAUSTED (also gRPC's own refusal of a message over
    /// <see cref="OpenInferenceOptions.MaxRequestBodyBytes"/>), 429 and 503 UNAVAILABLE (with
    /// <c>grpc-retry-pushback-ms</c>: <see cref="OpenInferenceOptions.RetryAfter"/>), 504 DEADLINE_EXCEEDED, 500 INTERNAL.
    /// </summary>
    /// <remarks>
    /// gRPC needs HTTP/2: over TLS, Kestrel's default endpoints offer it; without TLS, give the service an endpoint of
    /// its own with <c>Protocols</c> <c>Http2</c> (in configuration: <c>Kestrel:Endpoints:Grpc:Url</c> and
    /// <c>Kestrel:Endpoints:Grpc:Protocols</c>), beside the HTTP/1.1 one that serves REST.
    /// </remarks>
    /// <param name="endpoints">The app.</param>
    /// <returns>The service's endpoints, to add metadata, authorization or a host filter.</returns>
    /// <exception cref="InvalidOperationException"><see cref="AddOpenInferenceProtocol"/> was not called.</exception>
    public static GrpcServiceEndpointConventionBuilder MapOpenInferenceGrpc(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<OpenInferenceServer>() is null)
        {
            throw new InvalidOperationException("MapOpenInferenceGrpc() needs its services: add builder.Services.AddOpenInferenceProtocol() before building the app.");
        }

        return endpoints.MapGrpcService<OpenInferenceGrpcService>();
    }

    /// <summary>The gRPC service's limit on a message's size, that of an infer body on REST.</summary>
    private sealed class GrpcLimits(IOptions<OpenInferenceOptions> options) : IConfigureOptions<GrpcServiceOptions<OpenInferenceGrpcService>>
    {
        public void Configure(GrpcServiceOptions<OpenInferenceGrpcService> grpc) => grpc.MaxReceiveMessageSize = options.Value.MaxRequestBodyBytes;
    }

    /// <summary>Messages keep their quotes readable: the answers are JSON, never embedded in HTML.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string? Route(HttpContext context, string key) => context.Request.RouteValues[key] as string;

    private static Task ServerMetadata(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<OpenInferenceOptions>>().Value;
        return Json(context, 200, w =>
        {
            w.WriteString("name", options.ServerName);
            w.WriteString("version", OpenInferenceServer.Version);
            w.WriteStartArray("extensions");
            foreach (var extension in OpenInferenceServer.Extensions) w.WriteStringValue(extension);
            w.WriteEndArray();
        });
    }

    private static Task ServerReady(HttpContext context)
    {
        var ready = OpenInferenceModels.ServerReady(context.RequestServices);
        return Json(context, ready ? 200 : 503, w => w.WriteBoolean("ready", ready));
    }

    private static Task ModelReady(HttpContext context, string name, string? version)
    {
        if (OpenInferenceModels.Find(context.RequestServices, name, version, out _, out var served) is { } missing) return Error(context, missing);
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
        if (OpenInferenceModels.Find(context.RequestServices, name, version, out var model, out var served) is { } missing) return Error(context, missing);
        if (served is null) return Error(context, 503, OpenInferenceModels.NotReady(model));
        return Json(context, 200, w =>
        {
            w.WriteString("name", name);
            w.WriteStartArray("versions");
            foreach (var v in model.Versions.Order()) w.WriteStringValue(v.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteString("platform", OpenInferenceServer.Platform);
            WriteTensors(w, "inputs", served.Inputs);
            WriteTensors(w, "outputs", served.Outputs);
        });
    }

    private static async Task Infer(HttpContext context, string name, string? version)
    {
        if (OpenInferenceModels.Find(context.RequestServices, name, version, out var model, out var served) is { } missing)
        {
            await Error(context, missing).ConfigureAwait(false);
            return;
        }

        var server = context.RequestServices.GetRequiredService<OpenInferenceServer>();
        var options = server.Options;
        try
        {
            if (served is null) throw new InferenceError(503, OpenInferenceModels.NotReady(model));
            var headerLength = BinaryHeaderLength(context.Request);
            // A missing Content-Type is taken as JSON: Triton's and KServe's clients send JSON infer requests without one.
            if (headerLength is null && !JsonBody.IsJson(context.Request, allowMissing: true)) throw new InferenceError(415, UnsupportedMediaType(context.Request));
            using var body = await JsonBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, options.MaxElementsPerRequest + ValuesBesideData, MaxDepth, server.LargeBodies, "a JSON infer request with \"inputs\"", context.RequestAborted, headerLength).ConfigureAwait(false);
            using var document = JsonDocument.Parse(body.Memory, new JsonDocumentOptions { MaxDepth = MaxDepth });
            using var request = InferenceRequestReader.Read(document.RootElement, served, options.MaxElementsPerRequest, body.Binary);
            var (outputs, servedVersion) = await OpenInferenceModels.InferAsync(server, model, version is null ? null : served.Version, request, context.RequestAborted).ConfigureAwait(false);
            using var disposeOutputs = outputs;

            // Written whole before a byte goes out: a failure while writing is still answered with a status, never
            // with half a body.
            var binary = outputs.Select(o => request.BinaryOutputs.Contains(o.Name) ? BinaryTensors.Encode(o.Value) : null).ToArray();
            var answer = new ArrayBufferWriter<byte>();
            await using (var json = new Utf8JsonWriter(answer, WriterOptions))
            {
                InferenceResponseWriter.Write(json, name, servedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), request.Id, outputs, binary);
            }

            context.Response.StatusCode = 200;
            if (binary.Any(b => b is not null))
            {
                context.Response.ContentType = "application/octet-stream";
                context.Response.Headers[InferenceHeaderContentLength] = answer.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.ContentLength = answer.WrittenCount + binary.Sum(b => b?.LongLength ?? 0);
            }
            else
            {
                context.Response.ContentType = "application/json";
            }

            await context.Response.BodyWriter.WriteAsync(answer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
            foreach (var bytes in binary)
            {
                if (bytes is not null) await context.Response.BodyWriter.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
            }
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

    /// <summary>Triton's binary tensor extension: the header giving the length of a binary body's JSON part, in requests and answers.</summary>
    private const string InferenceHeaderContentLength = "Inference-Header-Content-Length";

    /// <summary>Triton's content type for a binary body on SageMaker, which gives the JSON's length as a parameter.</summary>
    private const string SageMakerBinaryJson = "application/vnd.sagemaker-triton.binary+json";

    /// <summary>
    /// The length of the JSON header of a binary body (Triton's binary tensor extension), from the
    /// <c>Inference-Header-Content-Length</c> header or the <c>json-header-size</c> parameter of Triton's SageMaker
    /// content type; null for a body that is JSON alone. With the header, the Content-Type may be absent,
    /// <c>application/octet-stream</c> or JSON.
    /// </summary>
    private static int? BinaryHeaderLength(HttpRequest request)
    {
        MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType);
        var media = contentType?.MediaType;
        var octets = string.Equals(media, "application/octet-stream", StringComparison.OrdinalIgnoreCase);
        string? text = request.Headers[InferenceHeaderContentLength];
        var from = InferenceHeaderContentLength;
        if (text is null && string.Equals(media, SageMakerBinaryJson, StringComparison.OrdinalIgnoreCase))
        {
            text = contentType!.Parameters.FirstOrDefault(p => string.Equals(p.Name, "json-header-size", StringComparison.OrdinalIgnoreCase))?.Value;
            from = $"{SageMakerBinaryJson}'s json-header-size";
        }

        if (text is null)
        {
            return octets ? throw InferenceError.BadRequest($"A binary body (application/octet-stream) needs the {InferenceHeaderContentLength} header: the length in bytes of the JSON that comes first.") : null;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
        {
            throw InferenceError.BadRequest($"{from} is '{(text.Length > 40 ? text[..40] + "…" : text)}'; it is the length in bytes of the body's JSON header, a whole number.");
        }

        if (!octets && !JsonBody.IsJson(request, allowMissing: true)) throw new InferenceError(415, UnsupportedMediaType(request));
        return length;
    }

    private static string UnsupportedMediaType(HttpRequest request) =>
        $"The body must be JSON (Content-Type: application/json; charset utf-8), or JSON and binary tensors (application/octet-stream with {InferenceHeaderContentLength}), not '{(string.IsNullOrEmpty(request.ContentType) ? "no Content-Type" : request.ContentType)}'.";

    /// <summary>Deep enough for a tensor of rank 30 inside the request's own three levels; deeper is refused while it arrives.</summary>
    private const int MaxDepth = 36;

    /// <summary>The JSON values a request may hold beside its tensors' elements: names, datatypes, dimensions, parameters.</summary>
    private const long ValuesBesideData = 4096;

    private static void WriteTensors(Utf8JsonWriter json, string property, IReadOnlyList<TensorInfo> tensors)
    {
        json.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            json.WriteStartObject();
            json.WriteString("name", tensor.Name);
            json.WriteString("datatype", OpenInferenceServer.Datatype(tensor));
            json.WriteStartArray("shape");
            foreach (var dimension in tensor.Shape) json.WriteNumberValue(dimension < 0 ? -1 : dimension);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static Task Error(HttpContext context, InferenceError error) => Error(context, error.StatusCode, error.Message);

    private static Task Error(HttpContext context, int status, string message) => Json(context, status, w => w.WriteString("error", message));

    private static async Task JsonArray(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions);
        json.WriteStartArray();
        write(json);
        json.WriteEndArray();
    }

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
