using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
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
        byte[]? body = null;
        try
        {
            var length = 0;
            (body, length) = await ReadBodyAsync(context.Request, options.MaxRequestBodyBytes).ConfigureAwait(false);
            var (single, many) = Parse(body.AsSpan(0, length), requestInfo, options.MaxRequestsPerCall);
            ArrayPool<byte>.Shared.Return(body);
            body = null;

            context.Response.ContentType = "application/json; charset=utf-8";
            if (many is null)
            {
                var response = await model.PredictAsync(single!, context.RequestAborted).ConfigureAwait(false);
                // Straight into Kestrel's pipe, as minimal APIs write: no stream adapter and no buffer of its own.
                await JsonSerializer.SerializeAsync(context.Response.BodyWriter, response, responseInfo, context.RequestAborted).ConfigureAwait(false);
                return;
            }

            // Queued together, the requests of one array share batches with each other and with other callers.
            var pending = new Task<TResponse>[many.Count];
            for (var i = 0; i < pending.Length; i++) pending[i] = model.PredictAsync(many[i], context.RequestAborted).AsTask();
            var responses = await Task.WhenAll(pending).ConfigureAwait(false);
            await using var json = new Utf8JsonWriter(context.Response.BodyWriter);
            json.WriteStartArray();
            foreach (var response in responses) JsonSerializer.Serialize(json, response, responseInfo);
            json.WriteEndArray();
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            if (body is not null) ArrayPool<byte>.Shared.Return(body);
            await Fail(context, error, hosted, options, logger).ConfigureAwait(false);
        }
    }

    private Resolved Resolve(IServiceProvider services)
    {
        var json = services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        return new Resolved(
            services.GetRequiredKeyedService<IModel<TRequest, TResponse>>(modelName),
            services.GetRequiredService<ModelCatalog>()[modelName],
            services.GetRequiredService<IOptions<ModelEndpointOptions>>().Value,
            (JsonTypeInfo<TRequest>)json.GetTypeInfo(typeof(TRequest)),
            (JsonTypeInfo<TResponse>)json.GetTypeInfo(typeof(TResponse)),
            services.GetRequiredService<ILoggerFactory>().CreateLogger("InProcServe.AspNetCore.ModelEndpoint"));
    }

    /// <summary>Reads the whole body into a pooled buffer, refusing it as soon as it passes the limit.</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, int limit)
    {
        if (request.ContentLength > limit) throw TooLarge(limit);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 4096, limit) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit) throw TooLarge(limit);
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false);
                if (read == 0) break;
                length += read;
                if (length > limit) throw TooLarge(limit);
            }

            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>One request (a JSON object), or several (a JSON array of objects).</summary>
    private static (TRequest? Single, List<TRequest>? Many) Parse(ReadOnlySpan<byte> body, JsonTypeInfo<TRequest> info, int maxRequests)
    {
        if (body.Trim(" \t\r\n"u8).IsEmpty) throw new BadRequest($"The body is empty; send a JSON {typeof(TRequest).Name} object, or an array of them.");
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
            if (many.Count == maxRequests) throw new BadHttpRequest(StatusCodes.Status413PayloadTooLarge, $"The array holds more than {maxRequests} requests, the most one call may send.");
            many.Add(JsonSerializer.Deserialize(ref reader, info) ?? throw new BadRequest($"Element {many.Count} of the array is null; each must be a {typeof(TRequest).Name} object."));
        }

        if (many.Count == 0) throw new BadRequest($"The array is empty; send at least one {typeof(TRequest).Name} object.");
        return (default, many);
    }

    private async Task Fail(HttpContext context, Exception error, HostedModel hosted, ModelEndpointOptions options, ILogger logger)
    {
        var (status, title, detail) = error switch
        {
            BadHttpRequest bad => (bad.StatusCode, bad.StatusCode == 413 ? "Request too large" : "Bad request", bad.Message),
            JsonException json => (400, "Malformed JSON", $"The body is not a valid {typeof(TRequest).Name}: {Describe(json)}"),
            ValidationException invalid => (400, "Invalid request", invalid.Message),
            ArgumentException invalid => (400, "Invalid request", invalid.Message),
            QueueFullException => (429, "Too many requests", $"Model '{modelName}' is at capacity; retry after {options.RetryAfter.TotalSeconds:0.#} s."),
            TimeoutException => (504, "Deadline passed", $"Model '{modelName}' did not answer within the request's deadline."),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "Client closed request", "The client went away."),
            OperationCanceledException => (504, "Deadline passed", $"Model '{modelName}' did not answer within the request's deadline."),
            ObjectDisposedException => (503, "Model unavailable", $"Model '{modelName}' is not serving now."),
            InvalidOperationException when hosted.State != ModelState.Ready => (503, "Model unavailable", $"Model '{modelName}' is not serving now: it is {hosted.State}."),
            _ => (500, "Scoring failed", $"Model '{modelName}' failed to score the request; the server log has the details."),
        };

        if (status >= 500) LogFailure(logger, modelName, status, error);
        if (status == 499) return;
        if (status is 429 or 503) context.Response.Headers.RetryAfter = ((int)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Results.Problem(detail: detail, statusCode: status, title: title).ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <summary>System.Text.Json's message, which names the JSON path and the .NET type it couldn't make.</summary>
    private static string Describe(JsonException error) =>
        error.Path is { Length: > 0 } path && !error.Message.Contains(path, StringComparison.Ordinal) ? $"{path}: {error.Message}" : error.Message;

    private static BadHttpRequest TooLarge(int limit) => new(StatusCodes.Status413PayloadTooLarge, $"The body is over the limit of {limit} bytes.");

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Model '{Model}' answered {Status}")]
    private static partial void LogFailure(ILogger logger, string model, int status, Exception error);

    private sealed record Resolved(IModel<TRequest, TResponse> Model, HostedModel Hosted, ModelEndpointOptions Options, JsonTypeInfo<TRequest> RequestInfo, JsonTypeInfo<TResponse> ResponseInfo, ILogger Logger);

    private class BadHttpRequest(int statusCode, string message) : Exception(message)
    {
        public int StatusCode { get; } = statusCode;
    }

    private sealed class BadRequest(string message) : BadHttpRequest(StatusCodes.Status400BadRequest, message);
}
