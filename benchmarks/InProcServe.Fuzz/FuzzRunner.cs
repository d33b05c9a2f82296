using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace InProcServe.Fuzz;

/// <summary>What a run found: counts by class and status, every failure (first ones kept), RSS.</summary>
internal sealed class FuzzReport
{
    internal ConcurrentDictionary<(string Kind, int Status), int> Counts { get; } = new();
    internal ConcurrentQueue<string> Failures { get; } = new();
    internal int FailureCount;
    internal int Requests;
    internal int ServerErrors;
    internal int ValidChecked;
    internal int ClosedAfterRefusal;
    internal long RssBaselineBytes;
    internal long RssPeakBytes;
    internal long RssEndBytes;
    internal TimeSpan Elapsed;

    internal void Fail(string message)
    {
        Interlocked.Increment(ref FailureCount);
        if (Failures.Count < 50) Failures.Enqueue(message);
    }

    internal string Summary()
    {
        var lines = new List<string>
        {
            $"{Requests} requests in {Elapsed.TotalSeconds:0.0} s ({Requests / Math.Max(Elapsed.TotalSeconds, 0.001):0} /s): {ServerErrors} answered >= 500, {FailureCount} failures, {ValidChecked} valid answers checked against the references, {ClosedAfterRefusal} oversize uploads cut off by the server after its answer.",
            RssBaselineBytes > 0 ? $"RSS: {RssBaselineBytes / 1e6:0} MB at start, {RssPeakBytes / 1e6:0} MB peak, {RssEndBytes / 1e6:0} MB at end." : "RSS: not sampled.",
            "class: status x count",
        };
        foreach (var kind in Counts.Keys.Select(k => k.Kind).Distinct().Order())
        {
            lines.Add($"  {kind}: " + string.Join(", ", Counts.Where(c => c.Key.Kind == kind).OrderBy(c => c.Key.Status).Select(c => $"{(c.Key.Status == 0 ? "closed" : c.Key.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))} x {c.Value}")));
        }

        lines.AddRange(Failures.Select(f => "FAILURE " + f));
        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>
/// Sends the requests of <see cref="FuzzCases"/> to a server on loopback and checks every answer: nothing at or above
/// 500; each 4xx a JSON body whose message names the problem (<c>{"error"}</c> on /v2, ProblemDetails elsewhere)
/// with no file path or .NET type in it; each valid request a 200 with the reference's outputs.
/// </summary>
internal static partial class FuzzRunner
{
    internal static async Task<FuzzReport> RunAsync(Uri server, FuzzTarget target, int requests, TimeSpan limit, int concurrency, int seed, int? pid, Action<string>? progress = null)
    {
        if (!IsLoopback(server)) throw new ArgumentException($"The harness only talks to loopback; '{server}' is not.", nameof(server));
        var report = new FuzzReport();
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = concurrency };
        using var client = new HttpClient(handler) { BaseAddress = server, Timeout = TimeSpan.FromSeconds(60) };
        var stopwatch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(limit);
        report.RssBaselineBytes = Rss(pid);
        report.RssPeakBytes = report.RssBaselineBytes;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var rss = Rss(pid);
                if (rss > report.RssPeakBytes) report.RssPeakBytes = rss;
                try { await Task.Delay(250, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var next = -1;
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var cases = new FuzzCases(target, seed + worker);
            while (!stop.IsCancellationRequested && Interlocked.Increment(ref next) < requests)
            {
                var request = cases.Next();
                await SendAsync(client, request, report).ConfigureAwait(false);
                var done = Interlocked.Increment(ref report.Requests);
                if (done % 10_000 == 0) progress?.Invoke($"{done} requests, {report.ServerErrors} >= 500, {report.FailureCount} failures, RSS {Rss(pid) / 1e6:0} MB");
            }
        })).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        report.Elapsed = stopwatch.Elapsed;
        await stop.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        report.RssEndBytes = Rss(pid);
        return report;
    }

    private static async Task SendAsync(HttpClient client, FuzzRequest request, FuzzReport report)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Path);
        HttpContent content = request.Chunked ? new StreamContent(new UnknownLengthStream(request.Body)) : new ByteArrayContent(request.Body);
        if (request.ContentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        message.Content = content;
        HttpResponseMessage answer;
        string body;
        try
        {
            answer = await client.SendAsync(message).ConfigureAwait(false);
            body = await answer.Content.ReadAsStringAsync().ConfigureAwait(false);
        }
        catch (Exception error) when (error is HttpRequestException or IOException or TaskCanceledException)
        {
            // A server that answers 413 to an upload it won't read closes the connection while the client still
            // sends; the client may see the close before the answer. Anywhere else it is a failure.
            report.Counts.AddOrUpdate((request.Kind, 0), 1, (_, n) => n + 1);
            if (request.Kind.EndsWith(".oversize", StringComparison.Ordinal)) Interlocked.Increment(ref report.ClosedAfterRefusal);
            else report.Fail($"{request.Kind} {request.Path}: no answer ({error.GetType().Name}: {error.Message})");
            return;
        }

        using (answer)
        {
            var status = (int)answer.StatusCode;
            report.Counts.AddOrUpdate((request.Kind, status), 1, (_, n) => n + 1);
            if (status >= 500)
            {
                Interlocked.Increment(ref report.ServerErrors);
                report.Fail($"{request.Kind} {request.Path}: {status} {Excerpt(body)}");
                return;
            }

            if (request.Expected is { } expected)
            {
                Check(request, status, body, expected, report);
                return;
            }

            if (status is >= 400 and < 500) CheckError(request, status, answer.Content.Headers.ContentType?.MediaType, body, report);
        }
    }

    private static void Check(FuzzRequest request, int status, string body, Expectation expected, FuzzReport report)
    {
        if (status != 200)
        {
            report.Fail($"{request.Kind} {request.Path}: a valid request answered {status} {Excerpt(body)}");
            return;
        }

        if (expected.ExactBody is { } exact)
        {
            if (body != exact) report.Fail($"{request.Kind}: answered {Excerpt(body)}, not {exact}");
            else Interlocked.Increment(ref report.ValidChecked);
            return;
        }

        using var document = JsonDocument.Parse(body);
        var outputs = document.RootElement.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        foreach (var (name, data) in expected.Outputs)
        {
            var single = outputs[name].GetProperty("datatype").GetString() is "FP32" or "FP16";
            var actual = outputs[name].GetProperty("data").EnumerateArray().ToArray();
            if (actual.Length != data.Length)
            {
                report.Fail($"{request.Kind} {request.Path}: output '{name}' has {actual.Length} values, the reference {data.Length}");
                return;
            }

            for (var i = 0; i < data.Length; i++)
            {
                // Numbers within the reference's tolerance, or equal once rounded to the output's own precision (the
                // reference is written from float64, the answer from the float32 itself).
                var same = data[i].ValueKind == JsonValueKind.Number
                    ? actual[i].ValueKind == JsonValueKind.Number && (Math.Abs(actual[i].GetDouble() - data[i].GetDouble()) <= expected.Tolerance * Math.Max(1, Math.Abs(data[i].GetDouble()))
                        || (single && (float)actual[i].GetDouble() == (float)data[i].GetDouble()))
                    : actual[i].GetRawText() == data[i].GetRawText();
                if (!same)
                {
                    report.Fail($"{request.Kind} {request.Path}: output '{name}'[{i}] is {actual[i].GetRawText()}, the reference {data[i].GetRawText()}");
                    return;
                }
            }
        }

        Interlocked.Increment(ref report.ValidChecked);
    }

    private static void CheckError(FuzzRequest request, int status, string? mediaType, string body, FuzzReport report)
    {
        string? text;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            text = request.Kind.StartsWith("oip.", StringComparison.Ordinal)
                ? (root.TryGetProperty("error", out var e) ? e.GetString() : null)
                : (mediaType == "application/problem+json" && root.TryGetProperty("detail", out var d) ? d.GetString() : null);
        }
        catch (JsonException)
        {
            text = null;
        }

        if (string.IsNullOrWhiteSpace(text)) report.Fail($"{request.Kind} {request.Path}: {status} without a message: {Excerpt(body)}");
        else if (Leak().IsMatch(text)) report.Fail($"{request.Kind} {request.Path}: {status} names a path or a .NET type: {Excerpt(text)}");
    }

    /// <summary>A file path (two or more segments), a .NET namespace-qualified type, or an exception's type name.</summary>
    [GeneratedRegex(@"(?:^|[\s'""(])(?:[A-Za-z]:)?(?:[\\/][\w.\-]+){2,}|\b(?:System|Microsoft|InProcServe)\.[A-Z]\w+|\w+Exception\b")]
    private static partial Regex Leak();

    private static string Excerpt(string text) => text.Length > 300 ? text[..300] + "…" : text;

    internal static bool IsLoopback(Uri server) =>
        server.IsLoopback || (IPAddress.TryParse(server.Host, out var address) && IPAddress.IsLoopback(address));

    /// <summary>The resident set of process <paramref name="pid"/> (Linux /proc); 0 where unknown.</summary>
    internal static long Rss(int? pid)
    {
        if (pid is null) return 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>A stream whose length is unknown, so HttpClient sends it chunked.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;
    }
}
