using System.Net;
using System.Text;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>The /v2 REST surface over a typed model and models from configuration alone, against the numpy references.</summary>
public sealed class OpenInferenceEndpointTests
{
    [Fact]
    public async Task Server_endpoints_say_live_ready_and_who_they_are()
    {
        await using var host = await Start();

        Assert.Equal("""{"live":true}""", await host.Client.GetStringAsync("/v2/health/live"));
        Assert.Equal("""{"ready":true}""", await host.Client.GetStringAsync("/v2/health/ready"));
        var server = JsonDocument.Parse(await host.Client.GetStringAsync("/v2")).RootElement;
        Assert.Equal("inprocserve", server.GetProperty("name").GetString());
        Assert.Equal(["binary_tensor_data"], server.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Model_metadata_lists_names_datatypes_and_shapes_with_minus_one_for_dynamic_dimensions()
    {
        await using var host = await Start();

        var fraud = await host.Client.GetStringAsync("/v2/models/Scoring");
        var multi = await host.Client.GetStringAsync("/v2/models/multi_io/versions/1");

        Assert.Equal("""{"name":"Scoring","versions":["3"],"platform":"onnxruntime_onnx","inputs":[{"name":"features","datatype":"FP32","shape":[-1,30]}],"outputs":[{"name":"probability","datatype":"FP32","shape":[-1,1]}]}""", fraud);
        Assert.Equal("""{"name":"multi_io","versions":["1"],"platform":"onnxruntime_onnx","inputs":[{"name":"a","datatype":"FP32","shape":[-1,4]},{"name":"b","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"sum","datatype":"FP32","shape":[-1,4]},{"name":"dot","datatype":"FP32","shape":[-1,1]},{"name":"argmax","datatype":"INT64","shape":[-1]}]}""", multi);
        Assert.Equal("""{"name":"all_types","ready":true}""", await host.Client.GetStringAsync("/v2/models/all_types/ready"));
    }

    [Theory]
    [InlineData("Scoring", "fraud")]
    [InlineData("multi_io", "multi_io")]
    [InlineData("all_types", "all_types")]
    public async Task Infer_answers_what_numpy_computes(string model, string file)
    {
        var reference = TestModels.Reference(file);
        await using var host = await Start();
        foreach (var testCase in reference.Cases)
        {
            var request = new StringBuilder("""{"id": "42", "inputs": [""");
            request.AppendJoin(", ", testCase.Inputs.Select(t =>
                $$"""{"name": "{{t.Name}}", "datatype": "{{RawTensors.Datatype(t.Type)}}", "shape": [{{string.Join(",", t.Shape)}}], "data": [{{string.Join(",", t.Data.Select(d => d.GetRawText()))}}]}"""));
            request.Append("]}");

            var answer = await host.Client.PostAsync($"/v2/models/{model}/infer", new StringContent(request.ToString(), Encoding.UTF8, "application/json"));

            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var root = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(model, root.GetProperty("model_name").GetString());
            Assert.Equal("42", root.GetProperty("id").GetString());
            var outputs = root.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
            foreach (var expected in testCase.Outputs)
            {
                var actual = outputs[expected.Name];
                Assert.Equal(expected.Shape, actual.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
                var data = actual.GetProperty("data").EnumerateArray().ToArray();
                for (var i = 0; i < data.Length; i++)
                {
                    switch (expected.Type)
                    {
                        case "float32": Assert.Equal((float)expected.Data[i].GetDouble(), (float)data[i].GetDouble(), (float)reference.Tolerance); break;
                        case "float16": Assert.Equal((double)(Half)expected.Data[i].GetDouble(), (double)(Half)data[i].GetDouble(), reference.Tolerance); break;
                        case "float64": Assert.Equal(expected.Data[i].GetDouble(), data[i].GetDouble(), reference.Tolerance); break;
                        default: Assert.Equal(expected.Data[i].GetRawText(), data[i].GetRawText()); break;
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2""", 400, "The body is not valid JSON:")]
    [InlineData("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": ["x", 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}""", 400, "Input 'a': element 0 is \"x\"; FP32 takes a finite number, \"NaN\", \"Infinity\" or \"-Infinity\".")]
    [InlineData("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [NaN, 2, 3, 4]}]}""", 400, "The body is not valid JSON:")]
    [InlineData("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [-2, 4], "data": []}]}""", 400, "Input 'a': shape dimension 0 is -2; dimensions are whole numbers, 0 or more.")]
    [InlineData("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1000000000, 4], "data": []}]}""", 413, "Input 'a': shape dimension 0 is 1000000000, over the limit of 1048576 elements left for this request.")]
    [InlineData("""{"inputs": [{"name": "a", "datatype": "INT64", "shape": [1, 4], "data": [1, 2, 3, 4]}]}""", 400, "Input 'a': datatype 'INT64' does not match; the model takes FP32 [-1,4].")]
    [InlineData("""{"inputs": [{"name": "c", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}""", 400, "Unknown input 'c'. Model 'multi_io' takes: 'a' FP32 [-1,4], 'b' FP32 [-1,4].")]
    [InlineData("""{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}""", 400, "Missing input 'b' FP32 [-1,4]; model 'multi_io' needs every input.")]
    [InlineData("", 400, "The body is empty; send a JSON infer request with \"inputs\".")]
    public async Task Bad_infer_bodies_are_answered_with_an_error_naming_the_problem_and_the_server_keeps_serving(string body, int status, string message)
    {
        await using var host = await Start();

        var answer = await host.Client.PostAsync("/v2/models/multi_io/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)answer.StatusCode);
        Assert.StartsWith(message, JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        var good = """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]}]}""";
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsync("/v2/models/multi_io/infer", new StringContent(good, Encoding.UTF8, "application/json"))).StatusCode);
    }

    [Fact]
    public async Task Unknown_models_and_versions_are_404_and_the_catalogue_is_listed_only_when_configured()
    {
        await using var host = await Start();
        await using var listing = await Start(o => o.ListModelsInErrors = true);

        var model = await host.Client.GetAsync("/v2/models/nope");
        var listed = await listing.Client.GetAsync("/v2/models/nope");
        var version = await host.Client.PostAsync("/v2/models/multi_io/versions/7/infer", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, model.StatusCode);
        Assert.Equal("""{"error":"No model named 'nope'."}""", await model.Content.ReadAsStringAsync());
        Assert.Equal("""{"error":"No model named 'nope'. Models served: 'Scoring', 'all_types', 'multi_io'."}""", await listed.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, version.StatusCode);
        Assert.Equal("""{"error":"Model 'multi_io' has no version '7'. Versions served: 1."}""", await version.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_model_repository_serves_every_version_of_every_model_folder()
    {
        using var repository = new TemporaryFolder();
        foreach (var (version, file) in new[] { ("1", "multi_io"), ("2", "multi_io") })
        {
            Directory.CreateDirectory(Path.Combine(repository.Path, "pairs", version));
            File.Copy(TestModels.Path(file), Path.Combine(repository.Path, "pairs", version, "model.onnx"));
        }

        await using var host = await WebHost.StartAsync(
            builder => builder.Services.AddOpenInferenceProtocol(),
            app => app.MapOpenInferenceProtocol(),
            new Dictionary<string, string?> { ["InProcServe:ModelRepository"] = repository.Path });

        var metadata = JsonDocument.Parse(await host.Client.GetStringAsync("/v2/models/pairs")).RootElement;
        var infer = await host.Client.PostAsync("/v2/models/pairs/versions/1/infer", new StringContent(
            """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [2, 2, 2, 2]}], "outputs": [{"name": "dot"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(["1", "2"], metadata.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("""{"model_name":"pairs","model_version":"1","outputs":[{"name":"dot","datatype":"FP32","shape":[1,1],"data":[20]}]}""", await infer.Content.ReadAsStringAsync());
    }

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
            });
}
