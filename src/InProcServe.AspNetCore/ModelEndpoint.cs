using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InProcServe.AspNetCore;

/// <summary>
/// One typed model endpoint: a JSON <typeparamref name="TRequest"/> (or an array of them) in, the model's
/// <typeparamref name="TResponse"/> (or an array) out, through the model's queue so that concurrent HTTP calls
/// are batched together. Failures are ProblemDetails with the status a client can act on.
/// </summary>
internal sealed partial class ModelEndpoint<TRequest, TResponse>(string modelName)
{
    private Resolved? resolved;

    public async Task HandleAsync(HttpContext context)
    {
        var (model, hosted, options, requestInfo, responseInfo, logger) = resolved ??= Resolve(context.RequestServices);
        try
        {
            if (!JsonBody.IsJson(context.Request, allowMissing: false)) throw new BadHttpRequest(StatusCodes.Status415UnsupportedMediaType, JsonBody.UnsupportedMediaType(context.Request));
            TRequest? single;
            List<TRequest>? many;
            using (var body = await JsonBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, long.MaxValue, MaxDepth, NoGate, $"a JSON {typeof(TRequest).Name} object, or an array of them", context.RequestAborted).ConfigureAwait(false))
            {
                (single, many) = Parse(body.Memory.Span, requestInfo, options.MaxRequestsPerCall);
            }

            // Every answer is serialized before a byte is written: an array whose last item fails, or a response
            // the serializer refuses, is answered with one status and one ProblemDetails, never half a body.
            var answer = new ArrayBufferWriter<byte>(256);
            if (many is null)
            {
                var response = await model.PredictAsync(single!, context.RequestAborted).ConfigureAwait(false);
                using var json = new Utf8JsonWriter(answer);
                JsonSerializer.Serialize(json, response, responseInfo);
            }
            else
            {
                // Queued together, the requests of one array share batches with each other and with other callers.
                var pending = new Task<TResponse>[many.Count];
                for (var i = 0; i < pending.Length; i++) pending[i] = model.PredictAsync(many[i], context.RequestAborted).AsTask();
                var responses = await Task.WhenAll(pending).ConfigureAwait(false);
                using var json = new Utf8JsonWriter(answer);
                json.WriteStartArray();
                foreach (var response in responses) JsonSerializer.Serialize(json, response, responseInfo);
                json.WriteEndArray();
            }

            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.BodyWriter.WriteAsync(answer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (canceled, or the connection reset while its body was read); nobody reads an
            // answer, and it is no fault of the server to log.
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            await Fail(context, error, hosted, options, logger).ConfigureAwait(false);
        }
    }

    /// <summary>Typed requests are records, seldom more than a few levels deep; 32 leaves room and stops a nesting bomb as it arrives.</summary>
    private const int MaxDepth = 32;

    /// <summary>Typed bodies are small (<see cref="ModelEndpointOptions.MaxRequestBodyBytes"/>, 1 MiB by default), so none counts as large.</summary>
    private static readonly LargeBodyGate NoGate = new(long.MaxValue, 0);

    private Resolved Resolve(IServiceProvider services)
    {
        // The app's JSON options, with three settings every typed endpoint needs whatever the app chose: NaN and the
        // infinities read and written as "NaN", "Infinity", "-Infinity" (a model can answer them; JSON has no literal
        // for them), and a missing required constructor parameter or a null for a non-nullable member refused by
        // name, so a request the contract can't take is a 400, not a null inside a handler.
        var json = new JsonSerializerOptions(services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions);
        json.NumberHandling |= JsonNumberHandling.AllowNamedFloatingPointLiterals;
        json.RespectNullableAnnotations = true;
        json.RespectRequiredConstructorParameters = true;
        return new Resolved(
            services.GetRequiredKeyedService<IModel<TRequest, TResponse>>(modelName),
            services.GetRequiredService<ModelCatalog>()[modelName],
            services.GetRequiredService<IOptions<ModelEndpointOptions>>().Value,
            (JsonTypeInfo<TRequest>)json.GetTypeInfo(typeof(TRequest)),
            (JsonTypeInfo<TResponse>)json.GetTypeInfo(typeof(TResponse)),
            services.GetRequiredService<ILoggerFactory>().CreateLogger("InProcServe.AspNetCore.ModelEndpoint"));
    }

    /// <summary>One request (a JSON object), or several (a JSON array of objects), all read before any is queued.</summary>
    private static (TRequest? Single, List<TRequest>? Many) Parse(ReadOnlySpan<byte> body, JsonTypeInfo<TRequest> info, int maxRequests)
    {
        var reader = new Utf8JsonReader(body);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            var single = JsonSerializer.Deserialize(body, info);
            return (single ?? throw new BadRequest($"The body is null; send a JSON {typeof(TRequest).Name} object."), null);
        }

        var many = new List<TRequest>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (many.Count == maxRequests) throw new BadHttpRequest(StatusCodes.Status413PayloadTooLarge, $"The array holds more than {maxRequests} requests, the most one call may send (ModelEndpointOptions.MaxRequestsPerCall); split it into smaller calls.");
            many.Add(JsonSerializer.Deserialize(ref reader, info) ?? throw new BadRequest($"Element {many.Count} of the array is null; each must be a {typeof(TRequest).Name} object."));
        }

        if (many.Count == 0) throw new BadRequest($"The array is empty; send at least one {typeof(TRequest).Name} object.");
        return (default, many);
    }

    private async Task Fail(HttpContext context, Exception error, HostedModel hosted, ModelEndpointOptions options, ILogger logger)
    {
        var (status, title, detail) = error switch
        {
            BadHttpRequest bad => (bad.StatusCode, Title(bad.StatusCode), bad.Message),
            BodyError bad => (bad.StatusCode, bad.Malformed ? "Malformed JSON" : Title(bad.StatusCode), bad.Message),
            JsonException json => (400, "Malformed JSON", $"The body is not a valid {typeof(TRequest).Name}: {JsonErrors.Describe(json)}"),
            ValidationException invalid => (400, "Invalid request", invalid.Message),
            ArgumentException invalid => (400, "Invalid request", invalid.Message),
            QueueFullException full => (429, "Too many requests", $"Model '{modelName}': its queue is full ({full.Capacity} requests waiting, the limit); retry after {options.RetryAfter.TotalSeconds:0.#} s."),
            TimeoutException => (504, "Deadline passed", $"Model '{modelName}' did not answer within the request's deadline."),
            OperationCanceledException => (504, "Deadline passed", $"Model '{modelName}' did not answer within the request's deadline."),
            ObjectDisposedException => (503, "Model unavailable", $"Model '{modelName}' is not serving now."),
            InvalidOperationException when hosted.State != ModelState.Ready => (503, "Model unavailable", $"Model '{modelName}' is not serving now: it is {hosted.State}."),
            _ => (500, "Scoring failed", $"Model '{modelName}' failed to score the request; the server log has the details."),
        };

        if (status >= 500) LogFailure(logger, modelName, status, error);
        if (status is 429 or 503) context.Response.Headers.RetryAfter = ((int)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Results.Problem(detail: detail, statusCode: status, title: title).ExecuteAsync(context).ConfigureAwait(false);
    }

    private static string Title(int status) => status switch
    {
        413 => "Request too large",
        415 => "Unsupported media type",
        429 => "Too many requests",
        _ => "Bad request",
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Model '{Model}' answered {Status}")]
    private static partial void LogFailure(ILogger logger, string model, int status, Exception error);

    private sealed record Resolved(IModel<TRequest, TResponse> Model, HostedModel Hosted, ModelEndpointOptions Options, JsonTypeInfo<TRequest> RequestInfo, JsonTypeInfo<TResponse> ResponseInfo, ILogger Logger);

    private class BadHttpRequest(int statusCode, string message) : Exception(message)
    {
        public int StatusCode { get; } = statusCode;
    }

    private sealed class BadRequest(string message) : BadHttpRequest(StatusCodes.Status400BadRequest, message);
}
