using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FraudModel;

namespace InProcServe.WebLoad;

/// <summary>
/// Issue 6's web load measurement: requests/s and latency of <c>POST /fraud/score</c> (the FraudDetection.Api
/// pipeline: JSON → pre-processor → micro-batcher → fraud.onnx → post-processor → JSON) against <c>POST /echo</c>
/// (plain Kestrel minimal API, same request JSON, a response of the same shape), at 64 connections, alternating
/// the two endpoints in one run so that a change in machine load hits both alike.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project benchmarks/InProcServe.WebLoad -- --seconds S [--rounds N] [--json FILE] [--max-delay-us U] [--direct]</c>.
/// <c>--remote</c> measures remote models instead (RemoteLoad.cs). <c>--direct</c> adds a third endpoint to the rotation, <c>POST /fraud/direct</c>: the same model through its direct path
/// (no micro-batcher), to tell the batcher's cost from the model's.
/// The server runs in a child process (this program with <c>--serve</c>), the client here: a closed loop of 64
/// callers over 64 HTTP/1.1 keep-alive connections on 127.0.0.1. Every response is checked (status 200, a JSON
/// decision whose probability is in [0, 1]); the run fails (exit code 1) if any is not.
/// </remarks>
internal static class Program
{
    private const int Connections = 64;
    private const int BodyCount = 256;
    private const int MaxSamples = 1 << 21;

    private static async Task<int> Main(string[] args)
    {
        var seconds = 10.0;
        var rounds = 3;
        var maxDelayMicroseconds = 0;
        var direct = false;
        string? json = null;
        int? servePort = null;
        var remote = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--json": json = args[++i]; break;
                case "--max-delay-us": maxDelayMicroseconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--direct": direct = true; break;
                case "--remote": remote = true; break;
                case "--serve": servePort = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: --seconds S [--rounds N] [--json FILE] [--max-delay-us U] [--direct] [--remote]");
                    return 2;
            }
        }

        var maxDelay = TimeSpan.FromMicroseconds(maxDelayMicroseconds).ToString("c", CultureInfo.InvariantCulture);
        if (servePort is { } port) return await Server.RunAsync(port, maxDelay).ConfigureAwait(false);
        if (remote) return await RemoteLoad.RunAsync(seconds, rounds).ConfigureAwait(false);

        var loadBefore = LoadAverage();
        port = FreePort();
        using var server = StartServer(port, maxDelayMicroseconds);
        try
        {
            return await MeasureAsync(server, port, seconds, rounds, maxDelay, direct, loadBefore, json).ConfigureAwait(false);
        }
        finally
        {
            if (!server.HasExited) server.Kill();
            await server.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    private static async Task<int> MeasureAsync(Process server, int port, double seconds, int rounds, string maxDelay, bool direct, string loadBefore, string? json)
    {
        var random = new Random(42);
        string[] countries = ["NL", "DE", "FR", "US", "GB", "ES", "IT", "BE"];
        var bodies = Enumerable.Range(0, BodyCount).Select(i => JsonSerializer.SerializeToUtf8Bytes(new Transaction(
            Id: 1_000_000 + i,
            Seconds: random.NextDouble() * 172_800,
            Amount: (float)Math.Round(Math.Exp(random.NextDouble() * 7), 2),
            MerchantCategory: random.Next(10),
            Country: countries[random.Next(countries.Length)],
            HomeCountry: countries[random.Next(2)],
            CardPresent: random.Next(2) == 0,
            TransactionsLastHour: random.Next(8),
            DistanceKm: (float)Math.Round(random.NextDouble() * 2_000, 1),
            AccountAgeDays: random.Next(3_650)), WebLoadJsonContext.Default.Transaction)).ToArray();

        using var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        { Timeout = TimeSpan.FromSeconds(30) };

        var endpoints = new[] { new Endpoint("POST /fraud/score", new Uri($"http://127.0.0.1:{port}/fraud/score")), new Endpoint("POST /echo", new Uri($"http://127.0.0.1:{port}/echo")) }
            .Concat(direct ? [new Endpoint("POST /fraud/direct", new Uri($"http://127.0.0.1:{port}/fraud/direct"))] : []).ToArray();
        var samples = new long[MaxSamples];

        Console.WriteLine($"{Environment.ProcessorCount} cores; {Connections} connections, HTTP/1.1 keep-alive, 127.0.0.1; server pid {server.Id} (server GC), " +
                          $"MaxBatchSize 64, MaxDelay {maxDelay}; {rounds} rounds × {seconds} s per endpoint; load average before {loadBefore}");
        Console.WriteLine($"request body {bodies.Min(b => b.Length)}–{bodies.Max(b => b.Length)} B");

        // Warm-up: connections, JIT (tiered up), the model's session; not recorded.
        var warmUp = Math.Min(3, Math.Max(1, seconds / 3));
        foreach (var endpoint in endpoints) await RunPhaseAsync(client, endpoint, bodies, warmUp, samples, server).ConfigureAwait(false);
        foreach (var endpoint in endpoints) await RunPhaseAsync(client, endpoint, bodies, warmUp, samples, server).ConfigureAwait(false);

        var results = new List<(int Round, Endpoint Endpoint, Phase Phase)>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var endpoint in endpoints) results.Add((round, endpoint, await RunPhaseAsync(client, endpoint, bodies, seconds, samples, server).ConfigureAwait(false)));
        }

        var loadAfter = LoadAverage();
        Console.WriteLine();
        Console.WriteLine($"{"round",-6} {"endpoint",-18} {"req/s",9} {"p50 µs",9} {"p99 µs",9} {"p99.9 µs",9} {"server CPU µs/req",18} {"resp B",7} {"errors",7}");
        foreach (var (round, endpoint, phase) in results)
        {
            Console.WriteLine($"{round,-6} {endpoint.Name,-18} {phase.PerSecond,9:0} {phase.P50,9:0} {phase.P99,9:0} {phase.P999,9:0} {phase.ServerCpuPerRequest,18:0.0} {phase.MeanResponseBytes,7:0.0} {phase.Errors,7}");
        }

        var summary = endpoints.Select(e =>
        {
            var phases = results.Where(r => r.Endpoint == e).Select(r => r.Phase).ToList();
            return (Endpoint: e, PerSecond: phases.Sum(p => p.Requests) / phases.Sum(p => p.Seconds), P50: Median(phases.Select(p => p.P50)), P99: Median(phases.Select(p => p.P99)),
                    Cpu: phases.Sum(p => p.ServerCpuPerRequest * p.Requests) / phases.Sum(p => p.Requests), Errors: phases.Sum(p => p.Errors), Requests: phases.Sum(p => p.Requests));
        }).ToList();
        var ratios = Enumerable.Range(1, rounds).Select(r => results.Single(x => x.Round == r && x.Endpoint == endpoints[0]).Phase.PerSecond / results.Single(x => x.Round == r && x.Endpoint == endpoints[1]).Phase.PerSecond).ToList();
        var ratio = summary[0].PerSecond / summary[1].PerSecond;
        var errors = summary.Sum(s => s.Errors);

        Console.WriteLine();
        Console.WriteLine($"{"all rounds",-25} {"req/s",9} {"p50 µs",9} {"p99 µs",9} {"server CPU µs/req",18} {"requests",9}");
        foreach (var s in summary) Console.WriteLine($"{s.Endpoint.Name,-25} {s.PerSecond,9:0} {s.P50,9:0} {s.P99,9:0} {s.Cpu,18:0.0} {s.Requests,9}");
        Console.WriteLine();
        Console.WriteLine($"fraud/echo requests/s: {ratio:0.000} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("0.000", CultureInfo.InvariantCulture)))}); target ≥ 0.70: {(ratio >= 0.7 ? "met" : "not met")}");
        Console.WriteLine($"p50/p99 are medians over the rounds; responses checked: {errors} errors (non-200 or a bad decision); load average after {loadAfter}");

        if (json is not null)
        {
            var document = new JsonObject
            {
                ["cores"] = Environment.ProcessorCount,
                ["connections"] = Connections,
                ["seconds_per_phase"] = seconds,
                ["rounds"] = rounds,
                ["max_delay"] = maxDelay,
                ["load_average_before"] = loadBefore,
                ["load_average_after"] = loadAfter,
                ["ratio_fraud_over_echo"] = Math.Round(ratio, 3),
                ["errors"] = errors,
                ["phases"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["round"] = r.Round,
                    ["endpoint"] = r.Endpoint.Name,
                    ["requests"] = r.Phase.Requests,
                    ["per_s"] = Math.Round(r.Phase.PerSecond),
                    ["p50_us"] = Math.Round(r.Phase.P50, 1),
                    ["p99_us"] = Math.Round(r.Phase.P99, 1),
                    ["p999_us"] = Math.Round(r.Phase.P999, 1),
                    ["server_cpu_us_per_request"] = Math.Round(r.Phase.ServerCpuPerRequest, 1),
                    ["response_bytes"] = Math.Round(r.Phase.MeanResponseBytes, 1),
                    ["errors"] = r.Phase.Errors,
                }).ToArray()),
            };
            await File.WriteAllTextAsync(json, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
        }

        return errors == 0 ? 0 : 1;
    }

    /// <summary>
    /// A closed loop of <see cref="Connections"/> callers for <paramref name="seconds"/>: each sends, reads the whole
    /// response, checks it, records its latency and sends again.
    /// </summary>
    private static async Task<Phase> RunPhaseAsync(HttpClient client, Endpoint endpoint, byte[][] bodies, double seconds, long[] samples, Process server)
    {
        var count = 0L;
        var errors = 0L;
        var responseBytes = 0L;
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var cpuBefore = ServerCpu(server);
        var started = Stopwatch.GetTimestamp();

        async Task Caller(int caller)
        {
            var buffer = new byte[4096];
            var next = caller;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var body = bodies[next++ % BodyCount];
                var start = Stopwatch.GetTimestamp();
                var length = 0;
                var ok = false;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Uri) { Content = new ByteArrayContent(body) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
                    await using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                    int read;
                    while ((read = await stream.ReadAsync(buffer.AsMemory(length)).ConfigureAwait(false)) > 0)
                    {
                        length += read;
                        if (length == buffer.Length) break;
                    }

                    ok = response.StatusCode == HttpStatusCode.OK && Valid(buffer.AsSpan(0, length));
                }
                catch (HttpRequestException)
                {
                }
                catch (JsonException)
                {
                }

                var elapsed = Stopwatch.GetTimestamp() - start;
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                    continue;
                }

                var index = Interlocked.Increment(ref count) - 1;
                if (index < samples.Length) samples[index] = elapsed;
                Interlocked.Add(ref responseBytes, length);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Connections).Select(c => Task.Run(() => Caller(c)))).ConfigureAwait(false);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = ServerCpu(server) - cpuBefore;

        var recorded = (int)Math.Min(count, samples.Length);
        Array.Sort(samples, 0, recorded);
        double Percentile(double p) => recorded == 0 ? double.NaN : samples[Math.Min(recorded - 1, (int)Math.Ceiling(p / 100 * recorded) - 1)] * 1e6 / Stopwatch.Frequency;
        return new Phase(count, wall, count / wall, Percentile(50), Percentile(99), Percentile(99.9), count == 0 ? double.NaN : cpu.TotalMicroseconds / count,
                         count == 0 ? double.NaN : (double)responseBytes / count, errors);
    }

    /// <summary>A decision: <c>{"probability":p,"flagged":b}</c> with p a number in [0, 1].</summary>
    private static bool Valid(ReadOnlySpan<byte> json)
    {
        var decision = JsonSerializer.Deserialize(json, WebLoadJsonContext.Default.FraudDecision);
        return decision.Probability is >= 0f and <= 1f;
    }

    private static Process StartServer(int port, int maxDelayMicroseconds)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var argument in new[] { "--serve", port.ToString(CultureInfo.InvariantCulture), "--max-delay-us", maxDelayMicroseconds.ToString(CultureInfo.InvariantCulture) }) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_gcServer"] = "1";
        var process = Process.Start(start)!;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line == Server.Ready) return process;
            Console.WriteLine($"server: {line}");
        }

        throw new InvalidOperationException($"The server process exited with code {(process.WaitForExit(5_000) ? process.ExitCode : -1)} before it was ready.");
    }

    private static TimeSpan ServerCpu(Process server)
    {
        server.Refresh();
        return server.TotalProcessorTime;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private sealed record Endpoint(string Name, Uri Uri);

    private sealed record Phase(long Requests, double Seconds, double PerSecond, double P50, double P99, double P999, double ServerCpuPerRequest, double MeanResponseBytes, long Errors);
}
