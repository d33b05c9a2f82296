using System.Text;
using System.Text.Json;

namespace InProcServe.Fuzz;

/// <summary>One request of the harness: what it is (its class), where it goes and its bytes.</summary>
/// <param name="Kind">The class, such as "oip.truncated" or "typed.valid"; figures are kept per class.</param>
/// <param name="Path">The path, on the target's loopback address.</param>
/// <param name="ContentType">The Content-Type header, sent as given (unvalidated); null sends none.</param>
/// <param name="Body">The body.</param>
/// <param name="Chunked">Whether the body goes chunked, with no Content-Length.</param>
/// <param name="Expected">For a valid request, the outputs the reference file gives; null for a malformed one.</param>
internal sealed record FuzzRequest(string Kind, string Path, string? ContentType, byte[] Body, bool Chunked, Expectation? Expected);

/// <summary>What a valid request must answer: 200, and each named output's data within the tolerance.</summary>
internal sealed record Expectation(double Tolerance, IReadOnlyList<(string Name, JsonElement[] Data)> Outputs, string? ExactBody = null);

/// <summary>A model served on /v2 with its numpy reference file, and the typed endpoint with one valid body and its answer.</summary>
internal sealed record FuzzTarget(IReadOnlyList<(string Model, string ReferenceFile)> OpenInference, string? TypedPath, string? TypedBody, string? TypedAnswer);

/// <summary>
/// Builds requests: valid ones from the models' reference files (interleaved, one in four), and malformed ones of
/// every class issue 14 names and more. Deterministic for a seed, so a failure can be replayed.
/// </summary>
internal sealed class FuzzCases
{
    private readonly Random random;
    private readonly FuzzTarget target;
    private readonly List<(string Model, string Body, Expectation Expected, JsonElement Inputs)> valid = [];

    internal FuzzCases(FuzzTarget target, int seed)
    {
        this.target = target;
        random = new Random(seed);
        foreach (var (model, file) in target.OpenInference)
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = document.RootElement.Clone();
            var tolerance = root.GetProperty("tolerance").GetDouble();
            foreach (var testCase in root.GetProperty("cases").EnumerateArray())
            {
                var inputs = testCase.GetProperty("inputs");
                var body = new StringBuilder("""{"id": "ref", "inputs": [""");
                body.AppendJoin(", ", inputs.EnumerateObject().Select(t =>
                    $$"""{"name": "{{t.Name}}", "datatype": "{{Datatype(t.Value.GetProperty("type").GetString()!)}}", "shape": {{t.Value.GetProperty("shape").GetRawText()}}, "data": {{t.Value.GetProperty("data").GetRawText()}}}"""));
                body.Append("]}");
                var outputs = testCase.GetProperty("outputs").EnumerateObject().Select(o => (o.Name, o.Value.GetProperty("data").EnumerateArray().ToArray())).ToList();
                valid.Add((model, body.ToString(), new Expectation(tolerance, outputs), inputs));
            }
        }
    }

    /// <summary>The classes of malformed requests, each a generator; <see cref="Next"/> picks among them evenly.</summary>
    internal static readonly string[] Kinds =
    [
        "oip.truncated", "oip.wrong-type", "oip.deep-nesting", "oip.huge-dimension", "oip.zero-dimension", "oip.negative-dimension",
        "oip.shape-data-mismatch", "oip.unknown-datatype", "oip.invalid-utf8", "oip.surrogate-escape", "oip.symbolic-mismatch",
        "oip.byte-flip", "oip.not-an-object", "oip.number-overflow", "oip.named-floats", "oip.bad-timeout", "oip.unknown-tensor",
        "oip.content-type", "oip.chunked", "oip.oversize", "oip.unknown-model", "oip.duplicate-input",
        "typed.truncated", "typed.wrong-type", "typed.missing-field", "typed.null-field", "typed.array-bad-item", "typed.array-over-cap",
        "typed.deep-nesting", "typed.invalid-utf8", "typed.content-type", "typed.byte-flip", "typed.oversize",
    ];

    /// <summary>The next request: one in four valid (a reference case or the typed body), the rest malformed.</summary>
    internal FuzzRequest Next()
    {
        if (random.Next(4) == 0) return Valid();
        var kinds = target.TypedPath is null ? Kinds.Where(k => k.StartsWith("oip.", StringComparison.Ordinal)).ToArray() : Kinds;
        var kind = kinds[random.Next(kinds.Length)];
        return kind.StartsWith("oip.", StringComparison.Ordinal) ? OpenInference(kind) : Typed(kind);
    }

    private FuzzRequest Valid()
    {
        if (target.TypedPath is not null && random.Next(3) == 0)
        {
            return new("typed.valid", target.TypedPath, "application/json", Encoding.UTF8.GetBytes(target.TypedBody!), random.Next(4) == 0, new Expectation(0, [], target.TypedAnswer));
        }

        var (model, body, expected, _) = valid[random.Next(valid.Count)];
        return new("oip.valid", Infer(model), random.Next(5) == 0 ? null : "application/json", Encoding.UTF8.GetBytes(body), random.Next(4) == 0, expected);
    }

    private FuzzRequest OpenInference(string kind)
    {
        var (model, body, _, inputs) = valid[random.Next(valid.Count)];
        var first = inputs.EnumerateObject().First();
        var name = first.Name;
        var datatype = Datatype(first.Value.GetProperty("type").GetString()!);
        var rank = first.Value.GetProperty("shape").GetArrayLength();
        string Input(string shape, string data, string? type = null) => $$"""{"inputs": [{"name": "{{name}}", "datatype": "{{type ?? datatype}}", "shape": {{shape}}, "data": {{data}}}]}""";
        string Shape(long first) => "[" + string.Join(", ", new[] { first }.Concat(first == 0 ? [] : Enumerable.Repeat(1L, rank - 1)).Concat(Enumerable.Repeat(1L, first == 0 ? rank - 1 : 0))) + "]";
        var bytes = kind switch
        {
            "oip.truncated" => Utf8(body)[..random.Next(1, body.Length)],
            "oip.wrong-type" => Utf8(random.Next(6) switch
            {
                0 => body.Replace("\"shape\": [", "\"shape\": [\"x\", ", StringComparison.Ordinal),
                1 => body.Replace("\"data\": [", "\"data\": {\"x\": [", StringComparison.Ordinal) + "}",
                2 => body.Replace("\"datatype\": \"", "\"datatype\": 5, \"x\": \"", StringComparison.Ordinal),
                3 => body.Replace("\"inputs\": [", "\"inputs\": {\"x\": [", StringComparison.Ordinal).Replace("]}", "]}}", StringComparison.Ordinal),
                4 => body.Replace("\"id\": \"ref\"", "\"id\": 42", StringComparison.Ordinal),
                _ => body.Replace("\"name\": \"", "\"name\": true, \"x\": \"", StringComparison.Ordinal),
            }),
            "oip.deep-nesting" => Utf8(Input(Shape(1), new string('[', random.Next(20, 5000)) + "1" + new string(']', random.Next(0, 40)))),
            "oip.huge-dimension" => Utf8(Input($"[{random.NextInt64(1L << 20, long.MaxValue)}, {random.NextInt64(long.MaxValue)}]", "[]")),
            "oip.zero-dimension" => Utf8(Input(Shape(0), "[]")),
            "oip.negative-dimension" => Utf8(Input(Shape(-random.Next(1, 1000)), "[1]")),
            "oip.shape-data-mismatch" => Utf8(Input(Shape(random.Next(1, 4)), "[" + string.Join(",", Enumerable.Repeat("1", random.Next(0, 50))) + "]")),
            "oip.unknown-datatype" => Utf8(body.Replace($"\"datatype\": \"{datatype}\"", $"\"datatype\": \"{Pick("FP8", "fp32", "", "BF16", "COMPLEX64", "FP32 ", "INT128")}\"", StringComparison.Ordinal)),
            "oip.invalid-utf8" => InvalidUtf8(body),
            "oip.surrogate-escape" => Utf8(body.Replace("\"id\": \"ref\"", "\"id\": \"\\ud800x\"", StringComparison.Ordinal).Replace($"\"name\": \"{name}\"", $"\"name\": \"{name}\\udfff\"", StringComparison.Ordinal)),
            "oip.symbolic-mismatch" => SymbolicMismatch(body, inputs),
            "oip.byte-flip" => Flip(Utf8(body)),
            "oip.not-an-object" => Utf8(Pick("null", "[]", "42", "\"inputs\"", "true", "{}", "{\"inputs\": null}", "{\"inputs\": [null]}", "{\"inputs\": [[]]}", "  ", "")),
            "oip.number-overflow" => Utf8(body.Replace("\"data\": [", $"\"data\": [{Pick("1e999", "-1e999", "99999999999999999999999", "1.5", "-1", "0x10", "+1", ".5", "1e", "--1")}, ", StringComparison.Ordinal)),
            "oip.named-floats" => Utf8(body.Replace("\"data\": [", $"\"data\": [\"{Pick("NaN", "Infinity", "-Infinity", "nan", "inf", "-NaN", "1.0")}\", ", StringComparison.Ordinal)),
            "oip.bad-timeout" => Utf8(body.Replace("{\"id\"", $"{{\"parameters\": {Pick("{\"timeout\": -1}", "{\"timeout\": \"1\"}", "{\"timeout\": 1e30}", "[]", "{\"timeout\": 99999999999999999}", "{\"timeout\": 1.5}")}, \"id\"", StringComparison.Ordinal)),
            "oip.unknown-tensor" => Utf8(random.Next(2) == 0
                ? body.Replace($"\"name\": \"{name}\"", $"\"name\": \"{name}_nope\"", StringComparison.Ordinal)
                : body[..^1] + ", \"outputs\": [{\"name\": \"nope\"}, {\"x\": 1}]}"),
            "oip.duplicate-input" => Utf8(body.Replace("\"inputs\": [", $"\"inputs\": [{Input(Shape(1), "[]")[12..^2]}, ", StringComparison.Ordinal)),
            "oip.oversize" => new byte[random.Next(2) == 0 ? 17 << 20 : 100],
            _ => Utf8(body),
        };

        return kind switch
        {
            "oip.content-type" => new(kind, Infer(model), Pick("text/plain", "application/xml", "application/json; charset=utf-16", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "json", ";;;"), bytes, false, null),
            "oip.chunked" => new(kind, Infer(model), "application/json", Truncate(bytes), true, null),
            "oip.unknown-model" => new(kind, Pick($"/v2/models/nope{random.Next(1000)}/infer", $"/v2/models/{model}/versions/999/infer", $"/v2/models/{model}/versions/-1/infer", $"/v2/models/{new string('m', 300)}/infer"), "application/json", bytes, false, null),
            _ => new(kind, Infer(model), "application/json", bytes, random.Next(6) == 0, null),
        };
    }

    private FuzzRequest Typed(string kind)
    {
        var body = target.TypedBody!;
        var bytes = kind switch
        {
            "typed.truncated" => Utf8(body)[..random.Next(1, body.Length)],
            "typed.wrong-type" => Utf8(ReplaceValue(body, Pick("\"x\"", "{}", "[]", "true", "1e999", "[1,2]", "\"NaN\"", "-1"))),
            "typed.missing-field" => Utf8(RemoveField(body)),
            "typed.null-field" => Utf8(ReplaceValue(body, "null")),
            "typed.array-bad-item" => Utf8($"[{body}, {Pick("null", "1", "{}", "[]", ReplaceValue(body, "\"x\""))}]"),
            "typed.array-over-cap" => Utf8("[" + string.Join(",", Enumerable.Repeat(body, random.Next(65, 200))) + "]"),
            "typed.deep-nesting" => Utf8(new string('[', random.Next(33, 3000)) + body),
            "typed.invalid-utf8" => InvalidUtf8(body),
            "typed.byte-flip" => Flip(Utf8(body)),
            "typed.oversize" => Utf8("[" + string.Join(",", Enumerable.Repeat(body, (1 << 20) / body.Length + 10)) + "]"),
            _ => Utf8(body),
        };
        var contentType = kind == "typed.content-type" ? Pick("text/plain", "application/xml", null, "application/json; charset=latin1") : "application/json";
        return new(kind, target.TypedPath!, contentType, bytes, random.Next(6) == 0, null);
    }

    private byte[] SymbolicMismatch(string body, JsonElement inputs)
    {
        // Every input's first dimension ("batch") made different, with data to match each new shape.
        var json = new StringBuilder("""{"inputs": [""");
        var batch = 1;
        json.AppendJoin(", ", inputs.EnumerateObject().Select(t =>
        {
            var shape = t.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var perRow = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            shape[0] = batch++;
            var data = t.Value.GetProperty("data").EnumerateArray().Take((int)(perRow * shape[0])).Select(d => d.GetRawText());
            return $$"""{"name": "{{t.Name}}", "datatype": "{{Datatype(t.Value.GetProperty("type").GetString()!)}}", "shape": [{{string.Join(",", shape)}}], "data": [{{string.Join(",", data)}}]}""";
        }));
        json.Append("]}");
        return inputs.EnumerateObject().Count() > 1 ? Utf8(json.ToString()) : Utf8(body);
    }

    /// <summary>A byte no UTF-8 sequence allows (a lone continuation, an overlong lead, 0xFF) put inside a string.</summary>
    private byte[] InvalidUtf8(string body)
    {
        var bytes = Utf8(body).ToList();
        var quotes = Enumerable.Range(0, bytes.Count).Where(i => bytes[i] == (byte)'"').ToArray();
        var at = quotes[random.Next(quotes.Length)] + 1;
        bytes.InsertRange(Math.Min(at, bytes.Count), Pick<byte[]>([0x80], [0xC0, 0xAF], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]));
        return [.. bytes];
    }

    private byte[] Flip(byte[] bytes)
    {
        for (var flips = random.Next(1, 4); flips > 0; flips--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
        return bytes;
    }

    private byte[] Truncate(byte[] bytes) => random.Next(2) == 0 ? bytes : bytes[..random.Next(bytes.Length + 1)];

    private T Pick<T>(params T[] choices) => choices[random.Next(choices.Length)];

    /// <summary>The body with one top-level field, picked at random, given <paramref name="value"/>.</summary>
    private string ReplaceValue(string json, string value)
    {
        using var document = JsonDocument.Parse(json);
        var fields = document.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        var chosen = fields[random.Next(fields.Length)];
        return "{" + string.Join(", ", document.RootElement.EnumerateObject().Select(p => $"\"{p.Name}\": {(p.Name == chosen ? value : p.Value.GetRawText())}")) + "}";
    }

    /// <summary>The body without one top-level field, picked at random.</summary>
    private string RemoveField(string json)
    {
        using var document = JsonDocument.Parse(json);
        var fields = document.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        var chosen = fields[random.Next(fields.Length)];
        return "{" + string.Join(", ", document.RootElement.EnumerateObject().Where(p => p.Name != chosen).Select(p => $"\"{p.Name}\": {p.Value.GetRawText()}")) + "}";
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Infer(string model) => $"/v2/models/{model}/infer";

    internal static string Datatype(string numpy) => numpy switch
    {
        "float32" => "FP32",
        "float64" => "FP64",
        "float16" => "FP16",
        "string" => "BYTES",
        _ => numpy.ToUpperInvariant(),
    };
}
