using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>
/// Dynamic batching through the protocol, over HTTP: infer requests for one model that wait together are joined into
/// one run along the batch dimension, under the model's MaxBatchSize and MaxDelay, and each answer holds its own rows.
/// </summary>
public sealed class OpenInferenceBatchingTests
{
    [Fact]
    public async Task Concurrent_infer_requests_run_as_one_batch_and_each_gets_its_own_rows()
    {
        // A delay far longer than the test: only a full batch of 8 rows (eight one-row requests) can start a run.
        await using var host = await WebHost.StartAsync(
            builder => builder.Services.AddOpenInferenceProtocol(),
            app => app.MapOpenInferenceProtocol(),
            new Dictionary<string, string?>
            {
                ["InProcServe:Models:sum:Path"] = TestModels.Path("multi_io"),
                ["InProcServe:Models:sum:Batching:MaxBatchSize"] = "8",
                ["InProcServe:Models:sum:Batching:MaxDelay"] = "00:00:10",
            });
        using var batches = new BatchSizes(host.Services.GetRequiredService<IMeterFactory>());

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            float[] a = [i, i + 0.25f, -i, 3 * i];
            float[] b = [10, 20 - i, 30, 40 * i];
            var request = $$"""
                {"id": "{{i}}", "inputs": [
                  {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [{{Numbers(a)}}]},
                  {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [{{Numbers(b)}}]}],
                 "outputs": [{"name": "sum"}]}
                """;
            using var answer = await host.Client.PostAsync("/v2/models/sum/infer", new StringContent(request, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)answer.StatusCode);
            var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
            return (Expected: a.Zip(b, (x, y) => x + y).ToArray(), Body: body, Id: i.ToString(CultureInfo.InvariantCulture));
        })).WaitAsync(TimeSpan.FromSeconds(60));

        foreach (var (expected, body, id) in answers)
        {
            Assert.Equal(id, body.GetProperty("id").GetString());
            var sum = body.GetProperty("outputs")[0];
            Assert.Equal([1L, 4L], sum.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            Assert.Equal(expected, sum.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        }

        Assert.Equal([8], batches.Sizes);
    }

    private static string Numbers(float[] values) => string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>The rows of each batch this host's models ran (<c>inprocserve.batch.size</c>).</summary>
    private sealed class BatchSizes : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly ConcurrentQueue<int> sizes = new();

        internal BatchSizes(IMeterFactory factory)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "inprocserve.batch.size") l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<int>((_, value, _, _) => sizes.Enqueue(value));
            listener.Start();
        }

        internal IReadOnlyList<int> Sizes => [.. sizes];

        public void Dispose() => listener.Dispose();
    }
}
