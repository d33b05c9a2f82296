using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Google.Protobuf;
using Grpc.Net.Client;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Protocol.Grpc;
using InProcServe.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.Samples;

/// <summary>
/// The web sample as users run it: its own process, its own configuration, over loopback HTTP. Its telemetry and its
/// dashboard and its gRPC endpoint are checked here; the scoring itself by .ci/run's smoke test.
/// </summary>
public sealed class FraudDetectionApiTests
{
    private const string Transaction = """{"id": 1, "seconds": 87368.3, "amount": 4.68, "merchantCategory": 3, "country": "JP", "homeCountry": "JP", "cardPresent": true, "transactionsLastHour": 2, "distanceKm": 41, "accountAgeDays": 142}""";

    [Fact]
    public async Task The_sample_serves_prometheus_metrics_with_inprocserves_instruments_and_its_dashboard()
    {
        await using var app = await SampleApp.StartAsync();

        var score = await app.Client.PostAsync("fraud/score", new StringContent(Transaction, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, score.StatusCode);
        var metrics = await app.Client.GetAsync("metrics");
        var text = await metrics.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType!.MediaType);
        var lines = text.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("inprocserve_requests_total{", StringComparison.Ordinal) && l.Contains("inprocserve_model_name=\"Fraud\"") && l.Contains("inprocserve_outcome=\"ok\"") && l.EndsWith("} 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("inprocserve_request_duration_seconds_bucket{", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("inprocserve_batch_size_bucket{", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("inprocserve_monitor_samples_total{", StringComparison.Ordinal) && l.Contains("inprocserve_model_version=\"3\""));
        Assert.Contains(lines, l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("http_route=\"/fraud/score\""));
        Assert.Contains("# TYPE inprocserve_requests_total counter", text);

        var snapshot = await app.Client.GetStringAsync("inprocserve/api/snapshot");
        Assert.Contains("\"name\":\"Fraud\"", snapshot);
        Assert.Contains("\"sampleRate\":0.1", snapshot);
    }

    [Fact]
    public async Task The_sample_serves_the_open_inference_protocol_over_grpc_on_its_http2_endpoint()
    {
        var reference = TestModels.Reference("fraud");
        var features = reference.Cases[0].Inputs[0];
        await using var app = await SampleApp.StartAsync();
        using var channel = GrpcChannel.ForAddress(app.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new ModelInferRequest { ModelName = "Fraud", Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { features.Shape } } } };
        request.RawInputContents.Add(ByteString.CopyFrom(RawTensors.Encode(features)));

        var server = await client.ServerMetadataAsync(new ServerMetadataRequest());
        var answer = await client.ModelInferAsync(request);

        Assert.Equal(["binary_tensor_data"], server.Extensions);
        Assert.Equal("3", answer.ModelVersion);
        RawTensors.AssertMatches(reference.Cases[0].Outputs[0], answer.RawOutputContents[0].Span, reference.Tolerance);
    }

    /// <summary>
    /// The sample's built app, started from its output folder (so it reads its appsettings.json) on two free loopback
    /// ports: its configured endpoints, HTTP/1.1 and gRPC's HTTP/2, moved there.
    /// </summary>
    private sealed class SampleApp : IAsyncDisposable
    {
        private readonly Process process;
        private readonly StringBuilder log = new();

        private SampleApp(Process process, Uri address, Uri grpcAddress)
        {
            this.process = process;
            Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
            GrpcAddress = grpcAddress;
        }

        internal HttpClient Client { get; }

        internal Uri GrpcAddress { get; }

        internal static async Task<SampleApp> StartAsync()
        {
            var dll = typeof(FraudDetectionApiTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FraudDetectionApi").Value!;
            Assert.True(File.Exists(dll), $"The sample is built with the tests; {dll} is missing.");
            var (port, grpcPort) = FreePorts();
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                WorkingDirectory = Path.GetDirectoryName(dll)!,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            // Its endpoints come from Kestrel:Endpoints in its configuration, which --urls does not override.
            foreach (var argument in (string[])["exec", dll, $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{port}", $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{grpcPort}"]) start.ArgumentList.Add(argument);
            var app = new SampleApp(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}/"), new Uri($"http://127.0.0.1:{grpcPort}/"));
            app.process.OutputDataReceived += (_, e) => app.Append(e.Data);
            app.process.ErrorDataReceived += (_, e) => app.Append(e.Data);
            app.process.BeginOutputReadLine();
            app.process.BeginErrorReadLine();

            // Generous: the app loads and warms its model first, on a machine that may be busy.
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    if ((await app.Client.GetAsync("health/ready")).StatusCode == HttpStatusCode.OK) return app;
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                if (app.process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(90))
                {
                    var output = app.Output();
                    await app.DisposeAsync();
                    Assert.Fail($"The sample did not report ready within 90 s; its output:{Environment.NewLine}{output}");
                }

                await Task.Delay(200);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (log) log.AppendLine(line);
        }

        private string Output()
        {
            lock (log) return log.ToString();
        }

        /// <summary>Two free ports, distinct: both are held while the second is found.</summary>
        private static (int, int) FreePorts()
        {
            using var first = new TcpListener(IPAddress.Loopback, 0);
            using var second = new TcpListener(IPAddress.Loopback, 0);
            first.Start();
            second.Start();
            return (((IPEndPoint)first.LocalEndpoint).Port, ((IPEndPoint)second.LocalEndpoint).Port);
        }
    }
}
