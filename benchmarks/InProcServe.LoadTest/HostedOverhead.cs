using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace InProcServe.LoadTest;

/// <summary>
/// What hosting costs a queued call: the bare <see cref="ModelBatcher{TInput, TOutput}"/> against the same model hosted with
/// <c>AddModel</c> and no handlers (<see cref="IModel{TRequest, TResponse}.PredictAsync"/>), at 64 and 256 async callers in
/// a closed loop, one second each in rotating rounds, with the bytes each call allocates.
/// </summary>
/// <remarks>Usage: <c>dotnet run -c Release --project benchmarks/InProcServe.LoadTest -- --hosted --seconds S</c> (S rounds, at least 3).</remarks>
internal static class HostedOverhead
{
    internal static async Task<int> RunAsync(float[][] rows, double seconds, string? only)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "fraud.onnx");
        using var session = ModelSession.Load(path, new ModelSessionOptions { IntraOpThreads = 1 });
        using var lane = new ExecutionLane("bare");
        await using var bare = ModelBatcher.Create<FraudFeatures, FraudProbability>(session, lane, new BatchingOptions { MaxBatchSize = 64, QueueCapacity = 16_384 });
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // The same session and batching options as the bare batcher's: only the hosting differs.
        builder.Services.AddModel<HostedFraud>().FromFile(path)
            .ConfigureSession(s => s.IntraOpThreads = 1)
            .ConfigureBatching(b =>
            {
                b.MaxBatchSize = 64;
                b.QueueCapacity = 16_384;
            });
        using var host = builder.Build();
        await host.StartAsync();
        var hosted = host.Services.GetRequiredService<IModel<FraudFeatures, FraudProbability>>();

        // A token that can be canceled (an app's stopping token, a request's abort token) but never is.
        using var live = new CancellationTokenSource();
        var token = live.Token;
        (string Name, Func<FraudFeatures, ValueTask<FraudProbability>> Call)[] paths =
        [
            ("bare ModelBatcher.PredictAsync", input => bare.PredictAsync(input)),
            ("hosted IModel.PredictAsync", input => hosted.PredictAsync(input)),
            ("hosted, cancelable token", input => hosted.PredictAsync(input, token)),
        ];
        if (only is not null) return await RunOneAsync(paths, rows, seconds, only);

        var rounds = Math.Max(3, (int)seconds);
        Console.WriteLine($"hosted vs bare queued calls, fraud MLP, {Environment.ProcessorCount} cores, {rounds} rounds of 1 s each; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        foreach (var concurrency in new[] { 64, 256 })
        {
            foreach (var (_, call) in paths) await ClosedLoop.RunAsync(call, rows, concurrency, 0.5);
            var rates = paths.Select(_ => new List<double>()).ToArray();
            var bytes = paths.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 0; k < paths.Length; k++)
                {
                    var p = (round + k) % paths.Length;
                    var (rate, perCall) = await ClosedLoop.RunAsync(paths[p].Call, rows, concurrency, 1);
                    rates[p].Add(rate);
                    bytes[p].Add(perCall);
                }
            }

            for (var p = 0; p < paths.Length; p++)
            {
                var ratio = Median(rates[p].Zip(rates[0], (a, b) => a / b));
                Console.WriteLine($"  {concurrency,3} callers  {paths[p].Name,-32} median {Median(rates[p]),10:N0} per s  {ratio:0.000}× bare  {Median(bytes[p]),6:0} B per call");
            }
        }

        await host.StopAsync();
        return 0;
    }

    /// <summary>
    /// One path at one concurrency (<c>--only hosted@256</c>: bare, hosted or cancelable), half a second of warm-up then
    /// <paramref name="seconds"/> measured: what a profiler attaches to, with nothing else in the trace.
    /// </summary>
    private static async Task<int> RunOneAsync((string Name, Func<FraudFeatures, ValueTask<FraudProbability>> Call)[] paths, float[][] rows, double seconds, string only)
    {
        string[] names = ["bare", "hosted", "cancelable"];
        var parts = only.Split('@');
        var p = Array.IndexOf(names, parts[0]);
        if (p < 0 || parts.Length != 2 || !int.TryParse(parts[1], out var concurrency) || concurrency < 1)
        {
            Console.Error.WriteLine($"--only is '{only}'; it must be PATH@CALLERS, PATH one of {string.Join(", ", names)} (e.g. hosted@256).");
            return 2;
        }

        await ClosedLoop.RunAsync(paths[p].Call, rows, concurrency, 0.5);
        var (rate, perCall) = await ClosedLoop.RunAsync(paths[p].Call, rows, concurrency, seconds);
        Console.WriteLine($"  {concurrency,3} callers  {paths[p].Name,-32} {rate,10:N0} per s  {perCall,6:0} B per call");
        return 0;
    }

    private static double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
}
