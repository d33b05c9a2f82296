using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using FraudModel;
using InProcServe.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InProcServe.WebLoad;

/// <summary>
/// Issue 15's remote figures: typed queued calls of the fraud MLP run remotely over the Open Inference Protocol (REST with
/// JSON tensors, REST with binary tensors, gRPC; to this project's MapOpenInferenceProtocol and MapOpenInferenceGrpc on
/// Kestrel at 127.0.0.1) beside the same model run locally, at 1, 16 and 64 async callers in a closed loop, rounds rotating
/// the paths so that a change in machine load hits all alike; and the REST body bytes a row costs on the wire.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project benchmarks/InProcServe.WebLoad -- --remote --seconds S [--rounds N]</c>. Server
/// and client share this process (and the machine's cores): the figures are a lower bound for a remote cluster, whose
/// compute is elsewhere, and an upper bound for the network, which is loopback. Every answer is checked against the local one.
/// </remarks>
internal static class RemoteLoad
{
    internal static async Task<int> RunAsync(double seconds, int rounds)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        var serverBuilder = WebApplication.CreateSlimBuilder();
        serverBuilder.Logging.ClearProviders();
        serverBuilder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, endpoint => endpoint.Protocols = HttpProtocols.Http1);
            // gRPC without TLS: an endpoint that speaks HTTP/2 alone (h2c with prior knowledge).
            kestrel.Listen(IPAddress.Loopback, 0, endpoint => endpoint.Protocols = HttpProtocols.Http2);
        });
        serverBuilder.Configuration["InProcServe:Models:fraud:Path"] = path;
        serverBuilder.Services.AddOpenInferenceProtocol();
        await using var server = serverBuilder.Build();
        server.MapOpenInferenceProtocol();
        server.MapOpenInferenceGrpc();
        await server.StartAsync();
        var addresses = server.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Select(a => new Uri(a.TrimEnd('/') + "/")).ToArray();

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var wires = new Dictionary<string, WireCounter>();
        foreach (var (name, protocol, binary, url) in new[] { ("json", RemoteProtocol.Rest, false, addresses[0]), ("binary", RemoteProtocol.Rest, true, addresses[0]), ("grpc", RemoteProtocol.Grpc, false, addresses[1]) })
        {
            var model = builder.Services.AddModel<PlainFraud>(name)
                .UseRemote(remote =>
                {
                    remote.Urls = [url];
                    remote.Protocol = protocol;
                    remote.BinaryTensors = binary;
                    remote.ModelName = "fraud";
                })
                .ConfigureBatching(b => b.QueueCapacity = 16_384);
            if (protocol == RemoteProtocol.Rest)
            {
                var wire = wires[name] = new WireCounter();
                model.AddRemoteHttpClient().AddHttpMessageHandler(() => wire);
            }
        }

        builder.Services.AddModel<PlainFraud>("local").FromFile(path).ConfigureBatching(b => b.QueueCapacity = 16_384);
        using var host = builder.Build();
        await host.StartAsync();
        var local = host.Services.GetRequiredKeyedService<IModel<FraudFeatures, FraudScore>>("local");
        IModel<FraudFeatures, FraudScore> Remote(string name) => host.Services.GetRequiredKeyedService<IModel<FraudFeatures, FraudScore>>(name);

        var random = new Random(42);
        var rows = Enumerable.Range(0, 256).Select(_ => new FraudFeatures(Enumerable.Range(0, 30).Select(_ => (float)random.NextDouble()).ToArray())).ToArray();
        var expected = rows.Select(r => local.Predict(r).Probability).ToArray();
        (string Name, IModel<FraudFeatures, FraudScore> Model)[] paths =
            [("local queued", local), ("remote REST JSON", Remote("json")), ("remote REST binary", Remote("binary")), ("remote gRPC", Remote("grpc"))];

        Console.WriteLine($"remote vs local typed queued calls, fraud MLP, {Environment.ProcessorCount} cores, {rounds} rounds of {seconds} s; load average {LoadAverage()}");
        var errors = 0L;
        foreach (var callers in new[] { 1, 16, 64 })
        {
            var rates = paths.Select(_ => new List<double>()).ToArray();
            foreach (var (_, model) in paths) errors += (await ClosedLoop(model, rows, expected, callers, 0.5)).Errors;
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 0; k < paths.Length; k++)
                {
                    var p = (round + k) % paths.Length;
                    var (rate, failed) = await ClosedLoop(paths[p].Model, rows, expected, callers, seconds);
                    rates[p].Add(rate);
                    errors += failed;
                }
            }

            for (var p = 0; p < paths.Length; p++)
            {
                Console.WriteLine($"  {callers,2} callers  {paths[p].Name,-18} median {Median(rates[p]),9:N0} calls/s  {Median(rates[p].Zip(rates[0], (a, b) => a / b)):0.000}× local");
            }
        }

        // Bytes on the wire, apart from the timed rounds: the counter reads each answer's body once more.
        foreach (var (name, wire) in wires)
        {
            foreach (var callers in new[] { 1, 64 })
            {
                wire.Start();
                var calls = 2_000;
                await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
                {
                    for (var i = c; i < calls; i += callers) await Remote(name).PredictAsync(rows[i % rows.Length]);
                })));
                var (sent, received, requests) = wire.Stop();
                Console.WriteLine($"  {callers,2} callers  REST {name} body bytes per row: {sent / (double)calls:0} sent, {received / (double)calls:0} received ({calls / (double)requests:0.0} rows a request)");
            }
        }

        Console.WriteLine($"  errors: {errors}; load average after {LoadAverage()}");
        await host.StopAsync();
        await server.StopAsync();
        return errors == 0 ? 0 : 1;
    }

    private static async Task<(double PerSecond, long Errors)> ClosedLoop(IModel<FraudFeatures, FraudScore> model, FraudFeatures[] rows, float[] expected, int callers, double seconds)
    {
        var stop = new StrongBox<bool>();
        var counts = new long[callers];
        var errors = 0L;
        var start = Stopwatch.GetTimestamp();
        var tasks = Enumerable.Range(0, callers).Select(id => Task.Run(async () =>
        {
            long calls = 0;
            while (!Volatile.Read(ref stop.Value))
            {
                var row = (int)((id * 131 + calls) % rows.Length);
                var score = await model.PredictAsync(rows[row]);
                if (Math.Abs(score.Probability - expected[row]) > 1e-5f) Interlocked.Increment(ref errors);
                calls++;
            }

            counts[id] = calls;
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref stop.Value, true);
        var elapsed = Stopwatch.GetTimestamp() - start;
        await Task.WhenAll(tasks);
        return (counts.Sum() * (double)Stopwatch.Frequency / elapsed, errors);
    }

    private static double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>The fraud model's contracts with no handlers.</summary>
    private sealed class PlainFraud : ModelDefinition<FraudFeatures, FraudScore>;

    /// <summary>Counts request and response body bytes of infer calls while started.</summary>
    private sealed class WireCounter : DelegatingHandler
    {
        private volatile bool counting;
        private long sent;
        private long received;
        private long requests;

        internal void Start()
        {
            sent = received = requests = 0;
            counting = true;
        }

        internal (long Sent, long Received, long Requests) Stop()
        {
            counting = false;
            return (Interlocked.Read(ref sent), Interlocked.Read(ref received), Interlocked.Read(ref requests));
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (counting && request.Content is { } content)
            {
                Interlocked.Add(ref sent, (await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false)).Length);
                Interlocked.Add(ref received, (await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false)).Length);
                Interlocked.Increment(ref requests);
            }

            return response;
        }
    }
}
