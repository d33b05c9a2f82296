using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>
/// Triton's binary tensor extension on /v2: inputs whose bytes follow the JSON, outputs answered the same way, every
/// datatype against the numpy references, and malformed binary refused with a 400 naming what was expected and what came.
/// </summary>
public sealed class OpenInferenceBinaryTests
{
    private const string MultiIoJson = """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "parameters": {"binary_data_size": 16}}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "parameters": {"binary_data_size": 16}}], "outputs": [{"name": "sum"}]}""";

    [Theory]
    [InlineData("Scoring", "fraud")]
    [InlineData("multi_io", "multi_io")]
    [InlineData("all_types", "all_types")] // FP16 among them, as its 2 raw bytes
    [InlineData("strings", "strings")]
    [InlineData("images", "images")]
    public async Task Binary_inputs_and_outputs_of_every_datatype_answer_what_numpy_computes(string model, string file)
    {
        var reference = TestModels.Reference(file);
        await using var host = await Start();
        foreach (var testCase in reference.Cases)
        {
            var inputs = testCase.Inputs.Select(t => (Tensor: t, Bytes: RawTensors.Encode(t))).ToList();
            var json = $$"""{"id": "b-1", "inputs": [{{string.Join(", ", inputs.Select(i => BinaryInput(i.Tensor, i.Bytes.Length)))}}], "parameters": {"binary_data_output": true} }""";

            var answer = await host.Client.PostAsync($"/v2/models/{model}/infer", Binary(json, [.. inputs.Select(i => i.Bytes)]));

            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal("application/octet-stream", answer.Content.Headers.ContentType?.MediaType);
            var (root, binary) = await Read(answer);
            Assert.Equal("b-1", root.GetProperty("id").GetString());
            var outputs = root.GetProperty("outputs").EnumerateArray().ToList();
            Assert.Equal(testCase.Outputs.Select(o => o.Name), outputs.Select(o => o.GetProperty("name").GetString()));
            var at = 0;
            for (var i = 0; i < outputs.Count; i++)
            {
                Assert.False(outputs[i].TryGetProperty("data", out _));
                Assert.Equal(testCase.Outputs[i].Shape, outputs[i].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
                var size = outputs[i].GetProperty("parameters").GetProperty("binary_data_size").GetInt32();
                RawTensors.AssertMatches(testCase.Outputs[i], binary.AsSpan(at, size), reference.Tolerance);
                at += size;
            }

            Assert.Equal(binary.Length, at);
        }
    }

    [Fact]
    public async Task Binary_and_json_inputs_mix_and_each_output_picks_its_form()
    {
        var reference = TestModels.Reference("multi_io").Cases[0];
        var (a, b) = (reference.Inputs[0], reference.Inputs[1]);
        await using var host = await Start();
        var json = $$"""{"inputs": [{{BinaryInput(a, RawTensors.Encode(a).Length)}}, {"name": "b", "datatype": "FP32", "shape": [{{string.Join(",", b.Shape)}}], "data": [{{string.Join(",", b.Data.Select(d => d.GetRawText()))}}]}], "outputs": [{"name": "sum", "parameters": {"binary_data": true} }, {"name": "dot"}, {"name": "argmax", "parameters": {"binary_data": false} }]}""";

        var answer = await host.Client.PostAsync("/v2/models/multi_io/infer", Binary(json, RawTensors.Encode(a)));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var (root, binary) = await Read(answer);
        var outputs = root.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal(binary.Length, outputs["sum"].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        RawTensors.AssertMatches(reference.Outputs.Single(o => o.Name == "sum"), binary, 1e-5);
        foreach (var name in (string[])["dot", "argmax"])
        {
            var expected = reference.Outputs.Single(o => o.Name == name);
            var data = outputs[name].GetProperty("data").EnumerateArray().ToArray();
            Assert.Equal(expected.Data.Length, data.Length);
            for (var i = 0; i < data.Length; i++) Assert.Equal(expected.Data[i].GetDouble(), data[i].GetDouble(), 1e-5);
        }
    }

    [Fact]
    public async Task Json_inputs_with_binary_outputs_and_tritons_sagemaker_content_type_are_served()
    {
        await using var host = await Start();
        var json = """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}], "outputs": [{"name": "sum", "parameters": {"binary_data": true}}]}""";
        var header = MultiIoJson.Replace("""{"name": "sum"}""", """{"name": "sum", "parameters": {"binary_data": true} }""");
        var sagemaker = new ByteArrayContent(Encoding.UTF8.GetBytes(header).Concat(Floats(1, 2, 3, 4)).Concat(Floats(1, 1, 1, 1)).ToArray());
        sagemaker.Headers.ContentType = MediaTypeHeaderValue.Parse($"application/vnd.sagemaker-triton.binary+json;json-header-size={Encoding.UTF8.GetByteCount(header)}");

        var jsonIn = await host.Client.PostAsync("/v2/models/multi_io/infer", new StringContent(json, Encoding.UTF8, "application/json"));
        var sagemakerIn = await host.Client.PostAsync("/v2/models/multi_io/infer", sagemaker);

        foreach (var answer in new[] { jsonIn, sagemakerIn })
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var (root, binary) = await Read(answer);
            Assert.Equal("""{"model_name":"multi_io","model_version":"1","outputs":[{"name":"sum","datatype":"FP32","shape":[1,4],"parameters":{"binary_data_size":16}}]}""", root.GetRawText());
            Assert.Equal(Floats(2, 3, 4, 5), binary);
        }
    }

    public static TheoryData<string, string, byte[], string?, string> Malformed => new()
    {
        { "multi_io", MultiIoJson, Floats(1, 2, 3, 4, 1, 1, 1, 1), "100000", "The Inference-Header-Content-Length header gives the JSON header as 100000 bytes, but the whole body has" },
        { "multi_io", MultiIoJson, Floats(1, 2, 3, 4, 1, 1, 1), null, "Input 'b': \"binary_data_size\" is 16 from byte 16 of the binary data, but 12 bytes remain (28 follow the JSON header)." },
        { "multi_io", MultiIoJson, Floats(1, 2, 3, 4, 1, 1, 1, 1, 9), null, "The body has 36 bytes after its JSON header, but the inputs' \"binary_data_size\" add up to 32." },
        { "multi_io", MultiIoJson.Replace("\"binary_data_size\": 16}}, {\"name\": \"b\"", "\"binary_data_size\": 12}}, {\"name\": \"b\""), Floats(1, 2, 3, 1, 1, 1, 1), null, "Input 'a': FP32 [1,4] takes 16 bytes (4 elements of 4), but its binary data has 12." },
        { "multi_io", MultiIoJson.Replace("\"binary_data_size\": 16}}, {\"name\": \"b\"", "\"binary_data_size\": -16}}, {\"name\": \"b\""), Floats(1, 2, 3, 4, 1, 1, 1, 1), null, "Input 'a': \"binary_data_size\" is -16; it is the length in bytes of the input's binary data, a whole number from 0." },
        { "multi_io", MultiIoJson.Replace("\"parameters\": {\"binary_data_size\": 16}}, {\"name\": \"b\"", "\"data\": [1, 2, 3, 4], \"parameters\": {\"binary_data_size\": 16}}, {\"name\": \"b\""), Floats(1, 2, 3, 4, 1, 1, 1, 1), null, "Input 'a': has both \"data\" and \"parameters.binary_data_size\"; its elements come in one or the other." },
        { "multi_io", MultiIoJson, Floats(1, 2, 3, 4, 1, 1, 1, 1), "abc", "Inference-Header-Content-Length is 'abc'; it is the length in bytes of the body's JSON header, a whole number." },
        { "multi_io", MultiIoJson, Floats(1, 2, 3, 4, 1, 1, 1, 1), "40", "The body is not valid JSON: " },
        { "strings", """{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1, 3], "parameters": {"binary_data_size": 12}}]}""", [100, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], null, "Input 'text': BYTES element 0 declares 100 bytes at byte 4, but 8 remain." },
        { "strings", """{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1, 3], "parameters": {"binary_data_size": 8}}]}""", [0, 0, 0, 0, 0, 0, 0, 0], null, "Input 'text': 3 BYTES elements take at least 12 bytes (a 4-byte length each), but its binary data has 8." },
        { "strings", """{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1, 3], "parameters": {"binary_data_size": 14}}]}""", [2, 0, 0, 0, 0xC3, 0x28, 0, 0, 0, 0, 0, 0, 0, 0], null, "Input 'text': BYTES element 0 is not valid UTF-8; string tensors hold UTF-8 text." },
        { "all_types", """{"inputs": [{"name": "x_bool", "datatype": "BOOL", "shape": [1, 3], "parameters": {"binary_data_size": 3}}]}""", [1, 2, 0], null, "Input 'x_bool': BOOL element 1 is the byte 2; BOOL elements are 0 or 1." },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Malformed_binary_is_a_400_naming_what_was_expected_and_what_came(string model, string json, byte[] data, string? headerLength, string message)
    {
        await using var host = await Start();
        var content = Binary(json, data);
        if (headerLength is not null)
        {
            content.Headers.Remove("Inference-Header-Content-Length");
            content.Headers.Add("Inference-Header-Content-Length", headerLength);
        }

        var answer = await host.Client.PostAsync($"/v2/models/{model}/infer", content);

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.StartsWith(message, await Error(answer));
        await AssertServes(host);
    }

    [Fact]
    public async Task A_binary_body_without_its_header_length_is_a_400()
    {
        await using var host = await Start();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(MultiIoJson).Concat(Floats(1, 2, 3, 4, 1, 1, 1, 1)).ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        var answer = await host.Client.PostAsync("/v2/models/multi_io/infer", content);

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal("A binary body (application/octet-stream) needs the Inference-Header-Content-Length header: the length in bytes of the JSON that comes first.", await Error(answer));
    }

    [Fact]
    public async Task Binary_inputs_are_held_to_the_element_and_byte_limits()
    {
        await using var host = await Start(o =>
        {
            o.MaxElementsPerRequest = 100;
            o.MaxRequestBodyBytes = 1500;
        });
        var elements = MultiIoJson.Replace("[1, 4]", "[26, 4]").Replace("16}", "416}");
        var bytes = """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 1], "parameters": {"binary_data_size": 1500}}]}""";

        var overElements = await host.Client.PostAsync("/v2/models/multi_io/infer", Binary(elements, new byte[832]));
        var overBytes = await host.Client.PostAsync("/v2/models/dynamic/infer", Binary(bytes, new byte[1500]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, overElements.StatusCode);
        Assert.Equal("Input 'a': shape [26,4] is over the limit of 100 elements left for this request.", await Error(overElements));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, overBytes.StatusCode);
        Assert.Equal("The body is over the limit of 1500 bytes.", await Error(overBytes));
        await AssertServes(host);
    }

    private static async Task AssertServes(WebHost host)
    {
        var answer = await host.Client.PostAsync("/v2/models/multi_io/infer", Binary(MultiIoJson, Floats(1, 2, 3, 4, 1, 1, 1, 1)));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("""{"model_name":"multi_io","model_version":"1","outputs":[{"name":"sum","datatype":"FP32","shape":[1,4],"data":[2,3,4,5]}]}""", await answer.Content.ReadAsStringAsync());
    }

    private static string BinaryInput(ReferenceTensor tensor, int bytes) =>
        $$$"""{"name": "{{{tensor.Name}}}", "datatype": "{{{RawTensors.Datatype(tensor.Type)}}}", "shape": [{{{string.Join(",", tensor.Shape)}}}], "parameters": {"binary_data_size": {{{bytes}}}}}""";

    /// <summary>A binary body: the JSON, then the data, with the JSON's length in Inference-Header-Content-Length.</summary>
    private static ByteArrayContent Binary(string json, params byte[][] data)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var content = new ByteArrayContent([.. header, .. data.SelectMany(d => d)]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>A binary answer's JSON and the bytes after it.</summary>
    private static async Task<(JsonElement Root, byte[] Binary)> Read(HttpResponseMessage answer)
    {
        var body = await answer.Content.ReadAsByteArrayAsync();
        var length = int.Parse(answer.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        return (JsonDocument.Parse(body.AsMemory(0, length)).RootElement, body[length..]);
    }

    private static byte[] Floats(params float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static async Task<string> Error(HttpResponseMessage answer) =>
        JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;

    private static Task<WebHost> Start(Action<OpenInferenceOptions>? configure = null) =>
        WebHost.StartAsync(
            builder =>
            {
                builder.Services.AddModel<Scoring>().AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>();
                builder.Services.AddOpenInferenceProtocol(configure);
            },
            app => app.MapOpenInferenceProtocol(),
            new Dictionary<string, string?>
            {
                ["InProcServe:Models:multi_io:Path"] = TestModels.Path("multi_io"),
                ["InProcServe:Models:all_types:Path"] = TestModels.Path("all_types"),
                ["InProcServe:Models:strings:Path"] = TestModels.Path("strings"),
                ["InProcServe:Models:images:Path"] = TestModels.Path("images"),
                ["InProcServe:Models:dynamic:Path"] = TestModels.Path("dynamic"),
            });
}
