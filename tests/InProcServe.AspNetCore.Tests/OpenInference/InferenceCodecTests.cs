using System.Text;
using System.Text.Json;
using InProcServe.AspNetCore;
using InProcServe.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>The Open Inference Protocol's JSON tensors read into ONNX Runtime and written back, against the numpy references.</summary>
public sealed class InferenceCodecTests
{
    [Theory]
    [InlineData("fraud")]
    [InlineData("multi_io")]
    [InlineData("all_types")]
    [InlineData("images")]
    public void Every_reference_case_round_trips_through_json_and_matches_numpy(string model)
    {
        var reference = TestModels.Reference(model);
        using var session = ModelSession.Load(TestModels.Path(model));
        foreach (var testCase in reference.Cases)
        {
            using var body = JsonDocument.Parse(RequestJson(testCase.Inputs, id: "case-1"));
            using var request = InferenceRequestReader.Read(body.RootElement, session, maxElements: 1_000_000);
            using var outputs = session.Run(request.Inputs, request.OutputNames);

            using var response = JsonDocument.Parse(Write(model, request.Id, outputs));

            var root = response.RootElement;
            Assert.Equal(model, root.GetProperty("model_name").GetString());
            Assert.Equal("case-1", root.GetProperty("id").GetString());
            var written = root.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
            foreach (var expected in testCase.Outputs)
            {
                var actual = written[expected.Name];
                Assert.Equal(OipType(expected.Type), actual.GetProperty("datatype").GetString());
                Assert.Equal(expected.Shape, actual.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
                var data = actual.GetProperty("data").EnumerateArray().ToArray();
                Assert.Equal(expected.Data.Length, data.Length);
                for (var i = 0; i < data.Length; i++)
                {
                    // JSON carries the shortest text that round-trips the element type, so narrow both sides to it.
                    if (expected.Type == "float32")
                        Assert.Equal((float)expected.Data[i].GetDouble(), (float)data[i].GetDouble(), (float)reference.Tolerance);
                    else if (expected.Type == "float16")
                        Assert.Equal((double)(Half)expected.Data[i].GetDouble(), (double)(Half)data[i].GetDouble(), reference.Tolerance);
                    else if (expected.Type == "float64")
                        Assert.Equal(expected.Data[i].GetDouble(), data[i].GetDouble(), reference.Tolerance);
                    else
                        Assert.Equal(expected.Data[i].GetRawText(), data[i].GetRawText());
                }
            }
        }
    }

    [Fact]
    public void Nested_data_is_read_row_major_and_only_the_requested_outputs_are_run()
    {
        using var session = ModelSession.Load(TestModels.Path("multi_io"));
        using var body = JsonDocument.Parse("""
            {"inputs": [
              {"name": "a", "datatype": "FP32", "shape": [2, 4], "data": [[1, 2, 3, 4], [5, 6, 7, 8]]},
              {"name": "b", "datatype": "FP32", "shape": [2, 4], "data": [1, 1, 1, 1, 0, 0, 0, 2]}],
             "outputs": [{"name": "dot"}]}
            """);

        using var request = InferenceRequestReader.Read(body.RootElement, session, 1000);
        using var outputs = session.Run(request.Inputs, request.OutputNames);

        Assert.Equal(["dot"], request.OutputNames);
        Assert.Equal([10f, 16f], outputs["dot"].GetSpan<float>().ToArray());
    }

    [Theory]
    [InlineData("""[1, 2]""", "The request body must be a JSON object with \"inputs\", not a JSON array.")]
    [InlineData("""{"id": 5, "inputs": []}""", "\"id\" must be a string, not a JSON number.")]
    [InlineData("""{}""", "The request needs an \"inputs\" array. Model 'fraud' takes: 'features' FP32 [-1,30].")]
    [InlineData("""{"inputs": []}""", "Missing input 'features' FP32 [-1,30]; model 'fraud' needs every input.")]
    [InlineData("""{"inputs": [{"name": "feature", "datatype": "FP32", "shape": [1, 30], "data": []}]}""", "Unknown input 'feature'. Model 'fraud' takes: 'features' FP32 [-1,30].")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 30], "data": []}]}""", "Input 'features': datatype 'FP64' does not match; the model takes FP32 [-1,30].")]
    [InlineData("""{"inputs": [{"name": "features", "shape": [1, 30], "data": []}]}""", "Input 'features': datatype is missing; the model takes FP32 [-1,30].")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [30], "data": []}]}""", "Input 'features': shape [30] has rank 1; the model takes FP32 [-1,30] (rank 2).")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 29], "data": []}]}""", "Input 'features': shape [1,29] has 29 in dimension 1; the model takes FP32 [-1,30].")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 30], "data": []}]}""", "Input 'features': shape dimension 0 is -1; dimensions are whole numbers, 0 or more.")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 30], "data": [1, 2]}]}""", "Input 'features': shape [1,30] holds 30 elements, but \"data\" has 2.")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 30], "data": 7}]}""", "Input 'features': \"data\" must be an array (flat or nested, row-major) of 30 elements, or its elements must be binary (\"parameters\": {\"binary_data_size\": bytes}).")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 30], "data": ["nan",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}""", "Input 'features': element 0 is \"nan\"; FP32 takes a finite number, \"NaN\", \"Infinity\" or \"-Infinity\".")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 30], "data": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1e999]}]}""", "Input 'features': element 29 is 1e999; FP32 takes a finite number, \"NaN\", \"Infinity\" or \"-Infinity\".")]
    [InlineData("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [0, 30], "data": []}], "outputs": [{"name": "score"}]}""", "Unknown output 'score'. Model 'fraud' has: 'probability' FP32 [-1,1].")]
    public void Bad_requests_are_refused_with_a_message_that_names_the_problem(string json, string message)
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var body = JsonDocument.Parse(json);

        var error = Assert.Throws<InferenceError>(() => InferenceRequestReader.Read(body.RootElement, session, 1_000_000));

        Assert.Equal(400, error.StatusCode);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Integers_out_of_their_type_s_range_are_refused()
    {
        using var session = ModelSession.Load(TestModels.Path("images"));
        using var body = JsonDocument.Parse($$"""{"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 3, 4, 4], "data": [{{string.Join(",", Enumerable.Repeat("7", 47))}}, 256]}]}""");

        var error = Assert.Throws<InferenceError>(() => InferenceRequestReader.Read(body.RootElement, session, 1000));

        Assert.Equal("Input 'image': element 47 is 256; UINT8 takes a whole number from 0 to 255.", error.Message);
    }

    [Fact]
    public void A_shape_over_the_element_limit_is_refused_before_any_data_is_read()
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var body = JsonDocument.Parse("""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [4611686018427387904, 30], "data": []}]}""");

        var error = Assert.Throws<InferenceError>(() => InferenceRequestReader.Read(body.RootElement, session, 3000));

        Assert.Equal(413, error.StatusCode);
        Assert.Equal("Input 'features': shape dimension 0 is 4611686018427387904, over the limit of 3000 elements left for this request.", error.Message);
    }

    private static string RequestJson(IReadOnlyList<ReferenceTensor> inputs, string id)
    {
        var text = new StringBuilder($$"""{"id": "{{id}}", "inputs": [""");
        text.AppendJoin(", ", inputs.Select(t =>
            $$"""{"name": "{{t.Name}}", "datatype": "{{OipType(t.Type)}}", "shape": [{{string.Join(",", t.Shape)}}], "data": [{{string.Join(",", t.Data.Select(d => d.GetRawText()))}}]}"""));
        return text.Append("]}").ToString();
    }

    private static string Write(string model, string? id, RunOutputs outputs)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            InferenceResponseWriter.Write(json, model, "1", id, outputs);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The reference files spell types as numpy does; the protocol has its own names.</summary>
    private static string OipType(string numpy) => numpy switch
    {
        "float32" => "FP32",
        "float64" => "FP64",
        "float16" => "FP16",
        "string" => "BYTES",
        _ => numpy.ToUpperInvariant(),
    };
}
