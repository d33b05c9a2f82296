using System.Buffers;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace InProcServe.AspNetCore;

/// <summary>
/// A request body read as JSON, checked as it arrives: its buffer grows with the bytes received, never with the
/// length the client declares (a client that declares 16 MiB and sends 100 bytes costs 4 KiB), and a
/// <see cref="Utf8JsonReader"/> runs over each new chunk, so a body that breaks the syntax, nests too deep or holds
/// more values than allowed is refused as soon as the offending bytes arrive, not after the whole body is buffered.
/// Strings are checked to be UTF-8 before anyone reads them. A body can also be a JSON header followed by binary data
/// (Triton's binary tensor extension): then only the header is JSON. Dispose it to return the buffer and the large-body slot.
/// </summary>
internal sealed class JsonBody : IDisposable
{
    /// <summary>The first buffer, before anything is known about the body's size.</summary>
    private const int InitialBytes = 4096;

    private byte[] buffer;
    private LargeBodyGate? heldGate;

    private readonly int jsonLength;

    private JsonBody(byte[] buffer, int length, int jsonLength, LargeBodyGate? heldGate)
    {
        this.buffer = buffer;
        Length = length;
        this.jsonLength = jsonLength;
        this.heldGate = heldGate;
    }

    /// <summary>The body's JSON: one complete, syntactically valid JSON value in UTF-8.</summary>
    internal ReadOnlyMemory<byte> Memory => buffer.AsMemory(0, jsonLength);

    /// <summary>The bytes after the JSON header of a binary body; empty for a JSON body.</summary>
    internal ReadOnlyMemory<byte> Binary => buffer.AsMemory(jsonLength, Length - jsonLength);

    /// <summary>The body's length in bytes.</summary>
    internal int Length { get; }

    /// <summary>Whether the request's Content-Type says JSON (<c>application/json</c>, <c>*/*+json</c>), or is absent when <paramref name="allowMissing"/>.</summary>
    internal static bool IsJson(HttpRequest request, bool allowMissing)
    {
        var contentType = request.ContentType;
        if (string.IsNullOrEmpty(contentType)) return allowMissing;
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType is not { } media) return false;
        if (parsed.CharSet is { Length: > 0 } charset && !charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase)) return false;
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The 415 message for a request whose Content-Type is not JSON.</summary>
    internal static string UnsupportedMediaType(HttpRequest request) =>
        $"The body must be JSON (Content-Type: application/json; charset utf-8), not '{(string.IsNullOrEmpty(request.ContentType) ? "no Content-Type" : request.ContentType)}'.";

    /// <summary>
    /// Reads and checks the body. Throws <see cref="BodyError"/> with the status to answer: 400 (empty, malformed,
    /// not UTF-8, nested deeper than <paramref name="maxDepth"/>), 413 (over <paramref name="maxBytes"/> or over
    /// <paramref name="maxValues"/> JSON values) or 429 (a large body while <paramref name="gate"/> is full). A body
    /// the connection cuts short (Kestrel's <see cref="Microsoft.AspNetCore.Http.BadHttpRequestException"/>) is a 400
    /// with Kestrel's status.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="maxBytes">The largest body.</param>
    /// <param name="maxValues">The most JSON values (numbers, strings, booleans, nulls).</param>
    /// <param name="maxDepth">The deepest nesting.</param>
    /// <param name="gate">Places for large bodies.</param>
    /// <param name="expected">What to send, for the message of an empty body: "a JSON infer request".</param>
    /// <param name="cancellationToken">The request's abort.</param>
    /// <param name="headerLength">
    /// For a binary body, the length of its JSON header, which binary data follows (400 when the body is shorter);
    /// null for a body that is JSON alone.
    /// </param>
    internal static async Task<JsonBody> ReadAsync(HttpRequest request, int maxBytes, long maxValues, int maxDepth, LargeBodyGate gate, string expected, CancellationToken cancellationToken, int? headerLength = null)
    {
        if (request.ContentLength > maxBytes) throw BodyError.TooLarge(maxBytes);
        if (headerLength > request.ContentLength) throw HeaderPastBody(headerLength.Value, request.ContentLength.Value);
        LargeBodyGate? held = null;
        if (request.ContentLength > gate.Threshold) held = gate.Enter();
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);
        var length = 0;
        try
        {
            var reader = request.BodyReader;
            var state = new JsonReaderState(new JsonReaderOptions { MaxDepth = maxDepth });
            var scanned = 0;
            long values = 0;
            var complete = false;
            var jsonEnd = headerLength ?? int.MaxValue;
            var jsonRead = false;
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Microsoft.AspNetCore.Http.BadHttpRequestException error)
                {
                    // Kestrel's own refusals (a body shorter than its Content-Length, bad chunking, its size limit):
                    // the client's doing, with the status Kestrel chose.
                    throw new BodyError(error.StatusCode, $"The body could not be read: {error.Message}");
                }

                var data = result.Buffer;
                if (length + data.Length > maxBytes)
                {
                    reader.AdvanceTo(data.End);
                    throw BodyError.TooLarge(maxBytes);
                }

                if (length + data.Length > buffer.Length)
                {
                    // Grow by doubling what has arrived (amortized copies), bounded by the limit.
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(buffer.Length * 2L, length + data.Length), maxBytes));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                data.CopyTo(buffer.AsSpan(length));
                length += (int)data.Length;
                reader.AdvanceTo(data.End);
                if (held is null && length > gate.Threshold) held = gate.Enter();
                if (result.IsCompleted && headerLength > length) throw HeaderPastBody(headerLength.Value, length);
                if (!jsonRead)
                {
                    // Past a binary body's header, the bytes are tensor data: the JSON is scanned up to its declared end.
                    jsonRead = result.IsCompleted || length >= jsonEnd;
                    (scanned, values, complete) = Scan(buffer.AsSpan(0, Math.Min(length, jsonEnd)), scanned, ref state, values, maxValues, complete, jsonRead);
                }

                if (result.IsCompleted) break;
            }

            var json = buffer.AsSpan(0, Math.Min(length, jsonEnd));
            if (json.Trim(" \t\r\n"u8).IsEmpty) throw new BodyError(StatusCodes.Status400BadRequest, $"The body is empty; send {expected}.", malformed: false);
            if (!Utf8.IsValid(json))
            {
                throw new BodyError(StatusCodes.Status400BadRequest, $"The body is not valid UTF-8 (byte {InvalidUtf8At(json)} starts an invalid sequence); JSON must be UTF-8.");
            }

            return new JsonBody(buffer, length, json.Length, held);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            held?.Exit();
            throw;
        }
    }

    private static BodyError HeaderPastBody(int headerLength, long length) =>
        new(StatusCodes.Status400BadRequest, $"The Inference-Header-Content-Length header gives the JSON header as {headerLength} bytes, but the whole body has {length}.");

    /// <summary>
    /// Checks the JSON syntax of the bytes not yet scanned, carrying the reader's state from chunk to chunk. Once the
    /// top-level value is complete, only whitespace may follow; a fresh reader over an empty final block would
    /// refuse the already complete value, so that case is decided here.
    /// </summary>
    private static (int Scanned, long Values, bool Complete) Scan(ReadOnlySpan<byte> body, int scanned, ref JsonReaderState state, long values, long maxValues, bool complete, bool final)
    {
        var rest = body[scanned..];
        if (complete)
        {
            if (!rest.Trim(" \t\r\n"u8).IsEmpty) throw new BodyError(StatusCodes.Status400BadRequest, $"The body is not valid JSON: more follows its JSON value at byte {body.Length - rest.TrimStart(" \t\r\n"u8).Length}.");
            return (body.Length, values, true);
        }

        if (final && rest.Trim(" \t\r\n"u8).IsEmpty)
        {
            if (scanned == 0) return (scanned, values, false);
            throw new BodyError(StatusCodes.Status400BadRequest, $"The body is not valid JSON: it ends at byte {body.Length}, inside its JSON value.");
        }

        var json = new Utf8JsonReader(rest, final, state);
        try
        {
            while (json.Read())
            {
                if (json.TokenType is JsonTokenType.Number or JsonTokenType.String or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null && ++values > maxValues)
                {
                    throw new BodyError(StatusCodes.Status413PayloadTooLarge, $"The body holds more than {maxValues} JSON values, the most one request may send.");
                }

                if (json.CurrentDepth == 0 && json.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.PropertyName))
                {
                    complete = true;
                    break;
                }
            }
        }
        catch (JsonException error)
        {
            // The reader's message names the line and byte; it never names a .NET type.
            throw new BodyError(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {error.Message}");
        }

        state = json.CurrentState;
        scanned += (int)json.BytesConsumed;
        return complete ? Scan(body, scanned, ref state, values, maxValues, complete: true, final) : (scanned, values, false);
    }

    private static int InvalidUtf8At(ReadOnlySpan<byte> body)
    {
        var at = 0;
        while (at < body.Length && System.Text.Rune.DecodeFromUtf8(body[at..], out _, out var consumed) == OperationStatus.Done) at += consumed;
        return at;
    }

    public void Dispose()
    {
        var returned = Interlocked.Exchange(ref buffer, []);
        if (returned.Length > 0) ArrayPool<byte>.Shared.Return(returned);
        Interlocked.Exchange(ref heldGate, null)?.Exit();
    }
}

/// <summary>A body refused before it is parsed: the status to answer and a message naming the problem.</summary>
internal sealed class BodyError(int statusCode, string message, bool malformed = true) : Exception(message)
{
    internal int StatusCode { get; } = statusCode;

    /// <summary>Whether the body's JSON is broken (a 400 other than an empty body).</summary>
    internal bool Malformed { get; } = malformed && statusCode == StatusCodes.Status400BadRequest;

    internal static BodyError TooLarge(int limit) => new(StatusCodes.Status413PayloadTooLarge, $"The body is over the limit of {limit} bytes.");
}

/// <summary>
/// Bounds how many large bodies are held at once: a body over <see cref="Threshold"/> bytes (declared or received)
/// takes a place, and one that finds none is refused with 429 and Retry-After instead of buffered, so concurrent large
/// uploads can't grow the heap past <c>places × limit</c>. 429 rather than 503: the server is well, this client (or
/// its peers) sent too many large bodies at once, and retrying later succeeds.
/// </summary>
internal sealed class LargeBodyGate(long threshold, int places)
{
    private readonly int places = places;
    private int free = places;

    /// <summary>The size from which a body is large, in bytes.</summary>
    internal long Threshold { get; } = threshold;

    /// <summary>Takes a place, or throws the 503 to answer.</summary>
    internal LargeBodyGate Enter()
    {
        if (Interlocked.Decrement(ref free) >= 0) return this;
        Interlocked.Increment(ref free);
        throw new BodyError(StatusCodes.Status429TooManyRequests, $"{places} large requests (over {Threshold} bytes) are being read already, the most at once; retry later.");
    }

    internal void Exit() => Interlocked.Increment(ref free);
}
