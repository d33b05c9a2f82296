using System.Net.Http.Json;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>Triton's model repository extension over HTTP: index, load (and reload), unload, off unless asked for.</summary>
public sealed class OpenInferenceRepositoryTests
{
    private const string SumRequest = """{"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}, {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [10, 20, 30, 40]}], "outputs": [{"name": "sum"}]}""";

    [Fact]
    public async Task The_index_lists_each_model_and_load_and_unload_change_what_is_served()
    {
        using var repository = new TemporaryFolder();
        TestModels.AddToRepository(repository.Path, "sum", 1, TestModels.Path("multi_io"));
        Directory.CreateDirectory(Path.Combine(repository.Path, "broken", "1"));
        File.WriteAllText(Path.Combine(repository.Path, "broken", "1", "model.onnx"), "not an ONNX model");
        await using var host = await Start(repository.Path, repositoryApi: true);

        var index = await Index(host);
        Assert.Equal([("broken", "", "UNAVAILABLE"), ("sum", "1", "READY")], index.Select(e => (e.Name, e.Version, e.State)));
        Assert.StartsWith("Model 'broken'", index[0].Reason);

        // A version added to the folder is served once the model is loaded again.
        TestModels.AddToRepository(repository.Path, "sum", 2, TestModels.Path("multi_io"));
        Assert.Equal(200, (int)(await host.Client.PostAsync("/v2/repository/models/sum/load", null)).StatusCode);
        Assert.Equal([("sum", "1"), ("sum", "2")], (await Index(host)).Where(e => e.State == "READY").Select(e => (e.Name, e.Version)));
        using (var answer = await host.Client.PostAsync("/v2/models/sum/versions/2/infer", Json(SumRequest)))
        {
            Assert.Equal(200, (int)answer.StatusCode);
            var sum = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outputs")[0].GetProperty("data");
            Assert.Equal([11f, 22f, 33f, 44f], sum.EnumerateArray().Select(v => v.GetSingle()));
        }

        Assert.Equal(200, (int)(await host.Client.PostAsync("/v2/repository/models/sum/unload", null)).StatusCode);
        Assert.Equal(404, (int)(await host.Client.GetAsync("/v2/models/sum/ready")).StatusCode);
        Assert.Equal(("sum", "", "UNAVAILABLE", "unloaded"), (await Index(host)).Single(e => e.Name == "sum"));

        // Loaded again from its folder, it serves again.
        Assert.Equal(200, (int)(await host.Client.PostAsync("/v2/repository/models/sum/load", null)).StatusCode);
        Assert.Equal(200, (int)(await host.Client.GetAsync("/v2/models/sum/ready")).StatusCode);
    }

    [Fact]
    public async Task Only_the_repositorys_models_named_by_their_folder_can_be_loaded_or_unloaded()
    {
        using var repository = new TemporaryFolder();
        TestModels.AddToRepository(repository.Path, "sum", 1, TestModels.Path("multi_io"));
        await using var host = await Start(repository.Path, repositoryApi: true);

        var missing = await host.Client.PostAsync("/v2/repository/models/nothing/load", null);
        Assert.Equal(404, (int)missing.StatusCode);
        Assert.Equal("The model repository has no model 'nothing' to load.", await Error(missing));
        // An escaped path is still one route segment, and never a way out of the repository.
        Assert.Equal(404, (int)(await host.Client.PostAsync("/v2/repository/models/..%2F..%2Fetc/load", null)).StatusCode);
        Assert.Equal(404, (int)(await host.Client.PostAsync("/v2/repository/models/../load", null)).StatusCode);

        var app = await host.Client.PostAsync("/v2/repository/models/config/unload", null);
        Assert.Equal(400, (int)app.StatusCode);
        Assert.Equal("Model 'config' is a model of the app (AddModel or a configuration section), not of the repository; it can't be unloaded.", await Error(app));
        Assert.Equal(200, (int)(await host.Client.GetAsync("/v2/models/config/ready")).StatusCode);
    }

    [Fact]
    public async Task The_repository_api_is_off_unless_asked_for()
    {
        using var repository = new TemporaryFolder();
        TestModels.AddToRepository(repository.Path, "sum", 1, TestModels.Path("multi_io"));
        await using var host = await Start(repository.Path, repositoryApi: false);

        Assert.Equal(404, (int)(await host.Client.PostAsync("/v2/repository/index", null)).StatusCode);
        Assert.Equal(404, (int)(await host.Client.PostAsync("/v2/repository/models/sum/unload", null)).StatusCode);
        Assert.Equal(200, (int)(await host.Client.GetAsync("/v2/models/sum/ready")).StatusCode);
    }

    private static Task<WebHost> Start(string repository, bool repositoryApi) =>
        WebHost.StartAsync(
            builder => builder.Services.AddOpenInferenceProtocol(),
            app => app.MapOpenInferenceProtocol(),
            new Dictionary<string, string?>
            {
                ["InProcServe:ModelRepository"] = repository,
                ["InProcServe:Models:config:Path"] = TestModels.Path("multi_io"),
                ["InProcServe:OpenInference:RepositoryApi"] = repositoryApi ? "true" : "false",
            });

    private static async Task<List<(string Name, string Version, string State, string Reason)>> Index(WebHost host)
    {
        using var answer = await host.Client.PostAsync("/v2/repository/index", Json("{}"));
        Assert.Equal(200, (int)answer.StatusCode);
        var entries = await answer.Content.ReadFromJsonAsync<JsonElement>();
        return entries.EnumerateArray()
            .Select(e => (e.GetProperty("name").GetString()!, e.GetProperty("version").GetString()!, e.GetProperty("state").GetString()!, e.GetProperty("reason").GetString()!))
            .ToList();
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    private static async Task<string> Error(HttpResponseMessage answer) =>
        (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
}
