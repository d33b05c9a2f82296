using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>
/// Issue 14's defect classes on /v2, through the HTTP pipeline: each bad request is a 4xx whose <c>{"error"}</c>
/// names the problem, and the model answers a good request right after, as numpy does.
/// </summary>
public sealed class OpenInferenceRobustnessTests
{
    private const string GoodMultiIo = """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}], "outputs": [{"name": "sum"}]}""";

    public static TheoryData<string, byte[], int, string> InvalidBodies => new()
    {
        // Invalid UTF-8 (a lone continuation byte, 0x80) in each kind of string; the JSON is otherwise fine.
        { "multi_io", Utf8WithByte("""{"id": "X", "inputs": []}"""), 400, "The body is not valid UTF-8 (byte 8 starts an invalid sequence)" },
        { "multi_io", Utf8WithByte("""{"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}"""), 400, "The body is not valid UTF-8" },
        { "multi_io", Utf8WithByte("""{"inputs": [{"name": "a", "datatype": "X", "shape": [1, 4], "data": [1, 2, 3, 4]}]}"""), 400, "The body is not valid UTF-8" },
        { "all_types", Utf8WithByte("""{"inputs": [{"name": "x_string", "datatype": "BYTES", "shape": [1, 3], "data": ["X", "b", "c"]}]}"""), 400, "The body is not valid UTF-8" },
        // Half a surrogate pair, escaped: valid UTF-8, but no .NET string can hold it.
        { "multi_io", Encoding.UTF8.GetBytes("""{"id": "\ud800", "inputs": []}"""), 400, "\"id\" is not valid Unicode text" },
        // Inputs sharing the symbolic dimension "batch" that disagree: ONNX Runtime would fail or mix them.
        { "multi_io", Encoding.UTF8.GetBytes("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [2, 4], "data": [1, 1, 1, 1, 1, 1, 1, 1]}]}"""), 400, "Input 'b': dimension 0 ('batch') is 2, but input 'a' gives 'batch' as 1; inputs sharing a named dimension must agree." },
        // A shape whose byte size overflows beside a zero dimension.
        { "dynamic", Encoding.UTF8.GetBytes("""{"inputs": [{"name": "x", "datatype": "FP32", "shape": [0, 4611686018427387904], "data": []}]}"""), 413, "Input 'x': shape dimension 1 is 4611686018427387904, over the limit of" },
        { "multi_io", Encoding.UTF8.GetBytes("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}], "parameters": {"timeout": -5}}"""), 400, "\"parameters.timeout\" is -5; it is a whole number of microseconds" },
        { "multi_io", Encoding.UTF8.GetBytes(new string('[', 100) + new string(']', 100)), 400, "The body is not valid JSON: The maximum configured depth of 36 has been exceeded." },
        { "multi_io", Encoding.UTF8.GetBytes("""{"inputs": []} {"inputs": []}"""), 400, "The body is not valid JSON: more follows its JSON value at byte 15." },
        { "multi_io", Encoding.UTF8.GetBytes($$"""{"inputs": [{"name": "{{new string('n', 10_000)}}", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}"""), 400, $"Unknown input '{new string('n', 64)}…'. Model 'multi_io' takes: 'a' FP32 [-1,4], 'b' FP32 [-1,4]." },
        { "multi_io", Encoding.UTF8.GetBytes("""{"inputs": [{"name": "a", "datatype": "FP99", "shape": [1, 4], "data": [1, 2, 3, 4]}]}"""), 400, "Input 'a': datatype 'FP99' does not match; the model takes FP32 [-1,4]." },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task A_malformed_body_is_a_4xx_naming_the_problem_and_the_model_serves_on(string model, byte[] body, int status, string message)
    {
        await using var host = await Start();

        var answer = await host.Client.PostAsync($"/v2/models/{model}/infer", Json(body));

        Assert.Equal(status, (int)answer.StatusCode);
        Assert.StartsWith(message, await Error(answer));
        await AssertServes(host);
    }

    [Fact]
    public async Task NaN_and_the_infinities_go_in_and_come_out_as_named_strings()
    {
        await using var host = await Start();

        var answer = await host.Client.PostAsync("/v2/models/multi_io/infer", Json(Encoding.UTF8.GetBytes(
            """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": ["NaN", "Infinity", "-Infinity", 1.5]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}], "outputs": [{"name": "sum"}]}""")));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("""{"model_name":"multi_io","model_version":"1","outputs":[{"name":"sum","datatype":"FP32","shape":[1,4],"data":["NaN","Infinity","-Infinity",2.5]}]}""", await answer.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("text/plain", 415)]
    [InlineData("application/x-www-form-urlencoded", 415)]
    [InlineData("application/json; charset=utf-16", 415)]
    [InlineData("application/json", 200)]
    [InlineData("application/vnd.infer+json", 200)]
    [InlineData(null, 200)] // Triton's and KServe's clients send none
    public async Task The_content_type_must_be_JSON_or_absent(string? contentType, int status)
    {
        await using var host = await Start();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(GoodMultiIo));
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);

        var answer = await host.Client.PostAsync("/v2/models/multi_io/infer", content);

        Assert.Equal(status, (int)answer.StatusCode);
        if (status == 415) Assert.Equal($"The body must be JSON (Content-Type: application/json; charset utf-8), or JSON and binary tensors (application/octet-stream with Inference-Header-Content-Length), not '{contentType}'.", await Error(answer));
    }

    [Fact]
    public async Task Element_and_byte_limits_are_enforced_while_the_body_arrives()
    {
        await using var host = await Start(o =>
        {
            o.MaxElementsPerRequest = 100;
            o.MaxRequestBodyBytes = 100_000;
        });
        var manyValues = """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [""" + string.Join(",", Enumerable.Repeat("1", 20_000)) + "]}]}";
        var declaredTooLarge = new ByteArrayContent(new byte[10]);
        declaredTooLarge.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        declaredTooLarge.Headers.ContentLength = 200_000;

        var values = await host.Client.PostAsync("/v2/models/multi_io/infer", Json(Encoding.UTF8.GetBytes(manyValues)));
        var declared = await Send(host, declaredTooLarge);
        var bytes = await host.Client.PostAsync("/v2/models/multi_io/infer", Json(Encoding.UTF8.GetBytes($$"""{"id": "{{new string('x', 100_000)}}", "inputs": []}""")));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, values.StatusCode);
        Assert.Equal("The body holds more than 4196 JSON values, the most one request may send.", await Error(values));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal("The body is over the limit of 100000 bytes.", await Error(declared));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bytes.StatusCode);
        await AssertServes(host);
    }

    [Fact]
    public async Task A_large_body_beyond_the_concurrent_cap_is_429_with_Retry_After()
    {
        // No places for large bodies: the cap is reached by the first one, which shows its answer without racing.
        await using var host = await Start(o =>
        {
            o.LargeRequestBytes = 64;
            o.MaxConcurrentLargeRequests = 0;
        });

        var answer = await host.Client.PostAsync("/v2/models/multi_io/infer", Json(Encoding.UTF8.GetBytes(GoodMultiIo)));

        Assert.Equal(HttpStatusCode.TooManyRequests, answer.StatusCode);
        Assert.Equal("1", answer.Headers.GetValues("Retry-After").Single());
        Assert.Equal("0 large requests (over 64 bytes) are being read already, the most at once; retry later.", await Error(answer));
    }

    [Fact]
    public async Task Typed_models_are_served_raw_unless_opted_out_globally_or_by_name()
    {
        await using var all = await Start();
        await using var noTyped = await Start(o => o.ServeTypedModels = false);
        await using var hidden = await Start(o => o.HiddenModels.Add("multi_io"));

        Assert.Equal(HttpStatusCode.OK, (await all.Client.GetAsync("/v2/models/Scoring")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await noTyped.Client.GetAsync("/v2/models/Scoring")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await noTyped.Client.GetAsync("/v2/models/multi_io")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await hidden.Client.PostAsync("/v2/models/multi_io/infer", Json(Encoding.UTF8.GetBytes(GoodMultiIo)))).StatusCode);
        Assert.Equal("""{"ready":true}""", await noTyped.Client.GetStringAsync("/v2/health/ready"));
    }

    [Fact]
    public async Task Exposure_and_limits_come_from_configuration_too_and_bad_values_fail_the_start_naming_each()
    {
        await using var host = await Start(configuration: new()
        {
            ["InProcServe:OpenInference:HiddenModels"] = "multi_io, dynamic",
            ["InProcServe:OpenInference:ListModelsInErrors"] = "true",
            ["InProcServe:OpenInference:ServeTypedModels"] = "false",
        });

        Assert.Equal("""{"error":"No model named 'multi_io'. Models served: 'all_types'."}""", await (await host.Client.GetAsync("/v2/models/multi_io")).Content.ReadAsStringAsync());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Start(configuration: new()
        {
            ["InProcServe:OpenInference:MaxRequestBodyBytes"] = "lots",
            ["InProcServe:OpenInference:MaxConcurrentLargeRequests"] = "-1",
            ["InProcServe:OpenInference:MaxBody"] = "1",
        }));
        Assert.Equal(
            "The Open Inference Protocol's options (InProcServe:OpenInference) are invalid: "
            + "InProcServe:OpenInference:MaxBody is not a setting; the settings are MaxRequestBodyBytes, MaxElementsPerRequest, LargeRequestBytes, MaxConcurrentLargeRequests, RetryAfter, ServeTypedModels, ListModelsInErrors, RepositoryApi, ServerName, HiddenModels. "
            + "InProcServe:OpenInference:MaxRequestBodyBytes is 'lots'; it must be a whole number. "
            + "MaxConcurrentLargeRequests is -1; it must be 0 (no large bodies) or more.",
            error.Message);
    }

    [Fact]
    public async Task A_run_past_its_deadline_is_stopped_and_answered_504_and_the_lane_serves_other_models()
    {
        // One worker on the lane both models share: if the deadline did not stop the run, multi_io would wait minutes.
        await using var host = await Start(configuration: new()
        {
            ["InProcServe:Lanes:cpu:Workers"] = "1",
            ["InProcServe:Models:slow:Path"] = TestModels.Path("slow"),
            ["InProcServe:Models:slow_default:Path"] = TestModels.Path("slow"),
            ["InProcServe:Models:slow_default:Batching:DefaultTimeout"] = "00:00:00.2",
        });
        var busy = new float[512];
        string Slow(string parameters) => $$"""{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 512], "data": [{{string.Join(",", busy)}}]}, {"name": "iterations", "datatype": "INT64", "shape": [], "data": [1000000000]}]{{parameters}}}""";

        var byParameter = await host.Client.PostAsync("/v2/models/slow/infer", Json(Encoding.UTF8.GetBytes(Slow(""", "parameters": {"timeout": 200000}"""))));
        var byDefault = await host.Client.PostAsync("/v2/models/slow_default/infer", Json(Encoding.UTF8.GetBytes(Slow(""))));

        Assert.Equal(HttpStatusCode.GatewayTimeout, byParameter.StatusCode);
        Assert.Equal("Model 'slow' did not answer within the request's deadline; the run was stopped.", await Error(byParameter));
        Assert.Equal(HttpStatusCode.GatewayTimeout, byDefault.StatusCode);
        await AssertServes(host);
    }

    private static async Task AssertServes(WebHost host)
    {
        var good = await host.Client.PostAsync("/v2/models/multi_io/infer", Json(Encoding.UTF8.GetBytes(GoodMultiIo)));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal("""{"model_name":"multi_io","model_version":"1","outputs":[{"name":"sum","datatype":"FP32","shape":[1,4],"data":[2,3,4,5]}]}""", await good.Content.ReadAsStringAsync());
    }

    private static Task<HttpResponseMessage> Send(WebHost host, HttpContent content) =>
        host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v2/models/multi_io/infer") { Content = content });

    private static ByteArrayContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>The UTF-8 of <paramref name="json"/> with its 'X' replaced by the byte 0x80, which no UTF-8 sequence starts with.</summary>
    private static byte[] Utf8WithByte(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0x80;
        return bytes;
    }

    private static async Task<string> Error(HttpResponseMessage answer) =>
        JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;

    private static Task<WebHost> Start(Action<OpenInferenceOptions>? configure = null, Dictionary<string, string?>? configuration = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["InProcServe:Models:multi_io:Path"] = TestModels.Path("multi_io"),
            ["InProcServe:Models:all_types:Path"] = TestModels.Path("all_types"),
            ["InProcServe:Models:dynamic:Path"] = TestModels.Path("dynamic"),
        };
        foreach (var (key, value) in configuration ?? []) settings[key] = value;
        return WebHost.StartAsync(
            builder =>
            {
                builder.Services.AddModel<Scoring>().AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>();
                builder.Services.AddOpenInferenceProtocol(configure);
            },
            app => app.MapOpenInferenceProtocol(),
            settings);
    }
}
