// The fuzz and abuse harness (issue 14), against a server already running on loopback:
//   fuzz     --url U --pid P --models DIR --oip name=reference,... [--typed PATH --typed-body JSON] [--requests N] [--seconds S] [--concurrency C] [--seed K]
//   memory   --url U --pid P --model NAME      (512 connections that declare 16 MiB and send 100 bytes; 16 concurrent 10 MB bodies)
//   fairness --url U --slow NAME --typed PATH --typed-body JSON   (a typed caller's latency beside a slow model's calls; arrays vs single callers)
// benchmarks/fuzz.sh starts the sample app and runs all three.
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using InProcServe.Fuzz;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Get(string key, string fallback) => options.TryGetValue(key, out var value) ? value : fallback;
var url = new Uri(Get("url", "http://127.0.0.1:5000"));
if (!FuzzRunner.IsLoopback(url)) { Console.Error.WriteLine($"The harness only talks to loopback; '{url}' is not."); return 2; }
int? pid = options.TryGetValue("pid", out var p) ? int.Parse(p, CultureInfo.InvariantCulture) : null;

switch (args.FirstOrDefault())
{
    case "fuzz":
    {
        var models = Get("models", "models");
        var oip = Get("oip", "multi_io=multi_io").Split(',').Select(m => m.Split('=')).Select(m => (m[0], Path.Combine(models, m[1] + ".reference.json"))).ToList();
        var typedPath = options.GetValueOrDefault("typed");
        var typedBody = options.GetValueOrDefault("typed-body");
        string? typedAnswer = null;
        if (typedPath is not null)
        {
            // The typed endpoint has no reference file: its first answer is checked by the caller (fuzz.sh compares it
            // with the README's) and every later one must be the same bytes, however the calls were batched.
            using var client = new HttpClient { BaseAddress = url };
            using var first = await client.PostAsync(typedPath, new StringContent(typedBody!, Encoding.UTF8, "application/json"));
            typedAnswer = await first.Content.ReadAsStringAsync();
            Console.WriteLine($"typed reference answer: {(int)first.StatusCode} {typedAnswer}");
        }

        var report = await FuzzRunner.RunAsync(url, new FuzzTarget(oip, typedPath, typedBody, typedAnswer),
            int.Parse(Get("requests", "10000"), CultureInfo.InvariantCulture), TimeSpan.FromSeconds(double.Parse(Get("seconds", "60"), CultureInfo.InvariantCulture)),
            int.Parse(Get("concurrency", "8"), CultureInfo.InvariantCulture), int.Parse(Get("seed", "1"), CultureInfo.InvariantCulture), pid, Console.WriteLine);
        Console.WriteLine(report.Summary());
        return report.FailureCount == 0 ? 0 : 1;
    }

    case "memory":
        await Memory.RunAsync(url, pid ?? throw new ArgumentException("memory needs --pid"), Get("model", "multi_io"));
        return 0;

    case "fairness":
        await Fairness.RunAsync(url, Get("slow", "slow"), Get("typed", "/fraud/score"), Get("typed-body", "{}"), TimeSpan.FromSeconds(double.Parse(Get("seconds", "10"), CultureInfo.InvariantCulture)));
        return 0;

    default:
        Console.Error.WriteLine("usage: InProcServe.Fuzz fuzz|memory|fairness --url http://127.0.0.1:PORT ... (see Program.cs)");
        return 2;
}

/// <summary>Issue 14's memory figures: what bodies that are declared but not sent, and large bodies sent at once, cost the server.</summary>
internal static class Memory
{
    internal static async Task RunAsync(Uri url, int pid, string model)
    {
        await Settle(pid);
        foreach (var declared in new[] { 16 << 20, 1_000_000 })
        {
            var before = FuzzRunner.Rss(pid);
            var sockets = new List<Socket>();
            for (var i = 0; i < 512; i++)
            {
                var socket = await Connect(url);
                await socket.SendAsync(Encoding.ASCII.GetBytes($"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n") .Concat(Encoding.ASCII.GetBytes("{\"inputs\": [" + new string(' ', 88))).ToArray());
                sockets.Add(socket);
            }

            var peak = await Peak(pid, TimeSpan.FromSeconds(3));
            var answered = sockets.Count(s => s.Available > 0);
            foreach (var socket in sockets) socket.Dispose();
            var after = await Settle(pid);
            Console.WriteLine($"512 connections declaring {declared:N0} bytes, sending 100: RSS {before / 1e6:0} MB before, {peak / 1e6:0} MB peak (+{(peak - before) / 1e6:0} MB), {after / 1e6:0} MB after closing; {answered} answered at once (the large-body cap), the rest waited for their bodies.");
        }

        {
            var before = FuzzRunner.Rss(pid);
            var statuses = new int[16];
            var sampling = Peak(pid, TimeSpan.FromSeconds(20));
            var started = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 16).Select(async i => statuses[i] = await SendLarge(url, model, 10_000_000)));
            var took = started.Elapsed;
            var peak = await sampling;
            var after = await Settle(pid);
            Console.WriteLine($"16 concurrent 10 MB bodies of one-digit numbers: RSS {before / 1e6:0} MB before, {peak / 1e6:0} MB peak (+{(peak - before) / 1e6:0} MB), {after / 1e6:0} MB after; answers {string.Join(", ", statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key} x {g.Count()}"))} in {took.TotalSeconds:0.0} s.");
        }
    }

    /// <summary>Sends a body of <paramref name="size"/> bytes ("1,1,1,…") in 64 KiB writes while reading the answer; the status, or 0 when the connection closed without one.</summary>
    private static async Task<int> SendLarge(Uri url, string model, int size)
    {
        using var socket = await Connect(url);
        var head = "{\"inputs\": [{\"name\": \"a\", \"datatype\": \"FP32\", \"shape\": [1, 4], \"data\": [";
        await socket.SendAsync(Encoding.ASCII.GetBytes($"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n{head}"));
        var answer = ReadStatus(socket);
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("1,", 32 * 1024)));
        try
        {
            for (var sent = head.Length; sent < size && !answer.IsCompleted; sent += chunk.Length)
            {
                await socket.SendAsync(chunk.AsMemory(0, Math.Min(chunk.Length, size - sent)));
            }
        }
        catch (SocketException)
        {
            // The server answered and closed while this client still sent: the answer is read below.
        }

        return await answer;
    }

    private static async Task<int> ReadStatus(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            var read = await socket.ReceiveAsync(buffer);
            var line = Encoding.ASCII.GetString(buffer, 0, read);
            return line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(line.AsSpan(9, 3), CultureInfo.InvariantCulture) : 0;
        }
        catch (SocketException)
        {
            return 0;
        }
    }

    private static async Task<Socket> Connect(Uri url)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(url.Host == "localhost" ? "127.0.0.1" : url.Host, url.Port);
        return socket;
    }

    private static async Task<long> Peak(int pid, TimeSpan over)
    {
        long peak = 0;
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < over; await Task.Delay(100)) peak = Math.Max(peak, FuzzRunner.Rss(pid));
        return peak;
    }

    /// <summary>Waits until RSS stops falling (the server's GC has had its chance), at most 15 s; RSS then.</summary>
    private static async Task<long> Settle(int pid)
    {
        var last = FuzzRunner.Rss(pid);
        for (var i = 0; i < 15; i++)
        {
            await Task.Delay(1000);
            var now = FuzzRunner.Rss(pid);
            if (now >= last - (1 << 20)) return now;
            last = now;
        }

        return last;
    }
}

/// <summary>
/// Issue 14's fairness figures: a typed caller's latency while another model's calls run long (each ended by its
/// deadline), and single callers beside callers that post arrays at the per-call cap.
/// </summary>
internal static class Fairness
{
    internal static async Task RunAsync(Uri url, string slow, string typed, string typedBody, TimeSpan duration)
    {
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };
        Console.WriteLine($"typed calls alone: {await Typed(client, typed, typedBody, duration)}");

        using var stop = new CancellationTokenSource();
        var slowStatuses = new List<int>();
        var hog = Task.Run(async () =>
        {
            var body = $$$"""{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 512], "data": [{{{string.Join(",", new int[512])}}}]}, {"name": "iterations", "datatype": "INT64", "shape": [], "data": [1000000000]}], "parameters": {"timeout": 1000000}}""";
            while (!stop.IsCancellationRequested)
            {
                using var answer = await client.PostAsync($"/v2/models/{slow}/infer", new StringContent(body, Encoding.UTF8, "application/json"));
                lock (slowStatuses) slowStatuses.Add((int)answer.StatusCode);
            }
        });
        await Task.Delay(200);
        var beside = await Typed(client, typed, typedBody, duration);
        await stop.CancelAsync();
        await hog;
        Console.WriteLine($"typed calls while '{slow}' runs calls of minutes, each with a 1 s deadline: {beside}; the slow calls answered {string.Join(", ", slowStatuses.GroupBy(s => s).Select(g => $"{g.Key} x {g.Count()}"))}");

        // Four clients posting arrays at the per-call cap beside eight single callers.
        var array = "[" + string.Join(",", Enumerable.Repeat(typedBody, 64)) + "]";
        var counts = new int[2, 3];
        using var stopArrays = new CancellationTokenSource(duration);
        async Task Loop(string body, int row)
        {
            while (!stopArrays.IsCancellationRequested)
            {
                using var answer = await client.PostAsync(typed, new StringContent(body, Encoding.UTF8, "application/json"));
                var column = answer.StatusCode == System.Net.HttpStatusCode.OK ? 0 : (int)answer.StatusCode == 429 ? 1 : 2;
                Interlocked.Increment(ref counts[row, column]);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Loop(array, 0)).Concat(Enumerable.Range(0, 8).Select(_ => Loop(typedBody, 1))));
        Console.WriteLine($"4 clients posting arrays of 64 beside 8 single callers for {duration.TotalSeconds:0} s: arrays {counts[0, 0]} answered 200, {counts[0, 1]} 429, {counts[0, 2]} other; singles {counts[1, 0]} 200, {counts[1, 1]} 429 ({100.0 * counts[1, 1] / Math.Max(1, counts[1, 0] + counts[1, 1] + counts[1, 2]):0.0}%), {counts[1, 2]} other.");
    }

    private static async Task<string> Typed(HttpClient client, string path, string body, TimeSpan duration)
    {
        var latencies = new List<double>();
        var failed = 0;
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < duration;)
        {
            var started = Stopwatch.GetTimestamp();
            using var answer = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (!answer.IsSuccessStatusCode) failed++;
        }

        latencies.Sort();
        double At(double q) => latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        return $"{latencies.Count} calls ({failed} failed), p50 {At(0.5):0.0} ms, p99 {At(0.99):0.0} ms, max {latencies[^1]:0.0} ms";
    }
}
