using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Protocol.Grpc;
using InProcServe.Tests.TestSupport;

namespace InProcServe.AspNetCore.Tests.OpenInference;

/// <summary>
/// The protocol's gRPC service, called by a client generated from the same .proto, over the test server and over
/// loopback HTTP/2: every RPC, inputs raw and typed against the numpy references, and each error with the code of its
/// REST status and REST's message.
/// </summary>
public sealed class OpenInferenceGrpcTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_rpc_answers_over_the_test_server_and_over_loopback_http2(bool loopback)
    {
        await using var host = await GrpcHost.StartAsync(loopback);
        var client = host.Client;

        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        var server = await client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("inprocserve", server.Name);
        Assert.Equal(["binary_tensor_data"], server.Extensions);
        Assert.Equal(OpenInferenceServer.Version, server.Version);
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "multi_io" })).Ready);
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "Scoring", Version = "3" })).Ready);
        var metadata = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "multi_io" });
        Assert.Equal("multi_io", metadata.Name);
        Assert.Equal(["1"], metadata.Versions);
        Assert.Equal("onnxruntime_onnx", metadata.Platform);
        Assert.Equal(["a FP32 [-1,4]", "b FP32 [-1,4]"], metadata.Inputs.Select(Describe));
        Assert.Equal(["sum FP32 [-1,4]", "dot FP32 [-1,1]", "argmax INT64 [-1]"], metadata.Outputs.Select(Describe));
        await AssertAnswers(client, "multi_io", "multi_io", raw: true);
    }

    [Theory]
    [InlineData("Scoring", "fraud")]
    [InlineData("multi_io", "multi_io")]
    [InlineData("all_types", "all_types")]
    [InlineData("strings", "strings")]
    [InlineData("images", "images")]
    [InlineData("dynamic", "dynamic")]
    public async Task Raw_input_contents_answer_what_numpy_computes(string model, string file)
    {
        await using var host = await GrpcHost.StartAsync();

        await AssertAnswers(host.Client, model, file, raw: true);
    }

    [Theory]
    [InlineData("typed", "typed")] // every datatype with a typed field: BOOL, INT8 … INT64, UINT8 … UINT64, FP32, FP64
    [InlineData("strings", "strings")]
    [InlineData("multi_io", "multi_io")]
    [InlineData("images", "images")]
    public async Task Typed_contents_answer_what_numpy_computes(string model, string file)
    {
        await using var host = await GrpcHost.StartAsync();

        await AssertAnswers(host.Client, model, file, raw: false);
    }

    public static TheoryData<string, StatusCode, string> Errors => new()
    {
        { "unknown model", StatusCode.NotFound, "No model named 'nope'." },
        { "unknown version", StatusCode.NotFound, "Model 'multi_io' has no version '7'. Versions served: 1." },
        { "bad shape", StatusCode.InvalidArgument, "Input 'a': shape [1,5] has 5 in dimension 1; the model takes FP32 [-1,4]." },
        { "missing input", StatusCode.InvalidArgument, "Missing input 'b' FP32 [-1,4]; model 'multi_io' needs every input." },
        { "wrong datatype", StatusCode.InvalidArgument, "Input 'a': datatype 'INT64' does not match; the model takes FP32 [-1,4]." },
        { "unknown output", StatusCode.InvalidArgument, "Unknown output 'nope'. Model 'multi_io' has: 'sum' FP32 [-1,4], 'dot' FP32 [-1,1], 'argmax' INT64 [-1]." },
        { "raw too short", StatusCode.InvalidArgument, "Input 'a': FP32 [1,4] takes 16 bytes (4 elements of 4), but its binary data has 12." },
        { "raw per input", StatusCode.InvalidArgument, "raw_input_contents has 1 entries for 2 inputs; it takes one per input, in the order of inputs." },
        { "raw and typed", StatusCode.InvalidArgument, "Input 'a': has contents, but the request has raw_input_contents; a request gives every input one way or the other." },
        { "typed in the wrong field", StatusCode.InvalidArgument, "Input 'a': FP32 takes its 4 elements in contents.fp32_contents, which has 0 (4 in fp64_contents)." },
        { "typed FP16", StatusCode.InvalidArgument, "Input 'x_float16': FP16 has no typed contents field; send its elements in raw_input_contents." },
        { "typed INT8 out of range", StatusCode.InvalidArgument, "Input 'x_int8': element 1 is 300; INT8 takes a whole number from -128 to 127." },
        { "typed BYTES not UTF-8", StatusCode.InvalidArgument, "Input 'text': element 0 is 2 bytes that are not UTF-8; BYTES takes UTF-8 text." },
        { "raw BYTES length past the end", StatusCode.InvalidArgument, "Input 'text': BYTES element 0 declares 100 bytes at byte 4, but 8 remain." },
        { "timeout not a number", StatusCode.InvalidArgument, "\"parameters.timeout\" is a StringParam (int64_param expected); it is a whole number of microseconds from 0 (no deadline) to 86400000000." },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Errors_have_the_code_of_their_rest_status_and_its_message_and_the_model_serves_on(string request, StatusCode code, string message)
    {
        await using var host = await GrpcHost.StartAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(BadRequest(request)).ResponseAsync);

        Assert.Equal(code, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
        await AssertAnswers(host.Client, "multi_io", "multi_io", raw: true);
    }

    [Fact]
    public async Task Unknown_models_are_not_found_on_every_model_rpc_and_listed_only_when_configured()
    {
        await using var host = await GrpcHost.StartAsync();
        await using var listing = await GrpcHost.StartAsync(configure: o => o.ListModelsInErrors = true);

        var ready = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" }).ResponseAsync);
        var metadata = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "multi_io", Version = "2" }).ResponseAsync);
        var listed = await Assert.ThrowsAsync<RpcException>(() => listing.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "nope" }).ResponseAsync);

        Assert.Equal((StatusCode.NotFound, "No model named 'nope'."), (ready.StatusCode, ready.Status.Detail));
        Assert.Equal((StatusCode.NotFound, "Model 'multi_io' has no version '2'. Versions served: 1."), (metadata.StatusCode, metadata.Status.Detail));
        Assert.Equal("No model named 'nope'. Models served: 'Scoring', 'all_types', 'dynamic', 'images', 'multi_io', 'strings', 'typed'.", listed.Status.Detail);
    }

    [Fact]
    public async Task Requests_over_the_element_or_message_limits_are_resource_exhausted()
    {
        await using var host = await GrpcHost.StartAsync(configure: o =>
        {
            o.MaxElementsPerRequest = 100;
            o.MaxRequestBodyBytes = 4096;
        });
        var elements = MultiIo(rows: 26);
        var bytes = MultiIo(rows: 1);
        bytes.Id = new string('x', 5000);

        var overElements = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(elements).ResponseAsync);
        var overBytes = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(bytes).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, overElements.StatusCode);
        Assert.Equal("Input 'a': shape [26,4] is over the limit of 100 elements left for this request.", overElements.Status.Detail);
        Assert.Equal(StatusCode.ResourceExhausted, overBytes.StatusCode);
        Assert.StartsWith("Received message exceeds the maximum configured message size", overBytes.Status.Detail);
        await AssertAnswers(host.Client, "multi_io", "multi_io", raw: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_run_past_its_deadline_is_stopped_and_the_lane_serves_other_models(bool byParameter)
    {
        // One worker on the lane both models share: had the deadline not stopped the run, multi_io would wait minutes
        // (and then fail on its own deadline of a minute). The gRPC deadline is served over Kestrel's HTTP/2, which
        // ends a call past its deadline with a status; the test server, which can't reset a stream, aborts it, and
        // the client would hear that instead of DEADLINE_EXCEEDED if it came before its own timer.
        await using var host = await GrpcHost.StartAsync(loopback: !byParameter, configuration: new Dictionary<string, string?>
        {
            ["InProcServe:Lanes:cpu:Workers"] = "1",
            ["InProcServe:Models:slow:Path"] = TestModels.Path("slow"),
        });
        var slow = new ModelInferRequest { ModelName = "slow", Inputs = { Tensor("x", "FP32", [1, 512]), Tensor("iterations", "INT64", []) } };
        slow.RawInputContents.Add(ByteString.CopyFrom(new byte[512 * 4]));
        slow.RawInputContents.Add(ByteString.CopyFrom(BitConverter.GetBytes(1_000_000_000L)));
        if (byParameter) slow.Parameters["timeout"] = new InferParameter { Int64Param = 200_000 };

        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelInferAsync(slow, deadline: byParameter ? null : DateTime.UtcNow.AddMilliseconds(200)).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        if (byParameter) Assert.Equal("Model 'slow' did not answer within the request's deadline; the run was stopped.", error.Status.Detail);
        var reference = TestModels.Reference("multi_io").Cases[0];
        var answer = await host.Client.ModelInferAsync(Request("multi_io", reference, raw: true), deadline: DateTime.UtcNow.AddMinutes(1));
        RawTensors.AssertMatches(reference.Outputs[0], answer.RawOutputContents[0].Span, TestModels.Reference("multi_io").Tolerance);
    }

    /// <summary>Runs every reference case of the model and checks the answer, outputs raw, against numpy's.</summary>
    private static async Task AssertAnswers(GRPCInferenceService.GRPCInferenceServiceClient client, string model, string file, bool raw)
    {
        var reference = TestModels.Reference(file);
        foreach (var testCase in reference.Cases)
        {
            var answer = await client.ModelInferAsync(Request(model, testCase, raw));

            Assert.Equal(model, answer.ModelName);
            Assert.Equal("case-1", answer.Id);
            Assert.NotEmpty(answer.ModelVersion);
            Assert.Equal(testCase.Outputs.Select(o => o.Name), answer.Outputs.Select(o => o.Name));
            Assert.Equal(answer.Outputs.Count, answer.RawOutputContents.Count);
            for (var i = 0; i < testCase.Outputs.Count; i++)
            {
                var expected = testCase.Outputs[i];
                Assert.Equal(RawTensors.Datatype(expected.Type), answer.Outputs[i].Datatype);
                Assert.Equal(expected.Shape, answer.Outputs[i].Shape);
                Assert.Null(answer.Outputs[i].Contents);
                RawTensors.AssertMatches(expected, answer.RawOutputContents[i].Span, reference.Tolerance);
            }
        }
    }

    private static ModelInferRequest Request(string model, ReferenceCase testCase, bool raw)
    {
        var request = new ModelInferRequest { ModelName = model, Id = "case-1" };
        foreach (var input in testCase.Inputs)
        {
            var tensor = Tensor(input.Name, RawTensors.Datatype(input.Type), input.Shape);
            if (raw) request.RawInputContents.Add(ByteString.CopyFrom(RawTensors.Encode(input)));
            else tensor.Contents = Contents(input);
            request.Inputs.Add(tensor);
        }

        return request;
    }

    /// <summary>A reference tensor's elements in the typed field of its datatype.</summary>
    private static InferTensorContents Contents(ReferenceTensor tensor)
    {
        var contents = new InferTensorContents();
        switch (tensor.Type)
        {
            case "float32": contents.Fp32Contents.AddRange(tensor.Data.Select(d => (float)d.GetDouble())); break;
            case "float64": contents.Fp64Contents.AddRange(tensor.Data.Select(d => d.GetDouble())); break;
            case "int8" or "int16" or "int32": contents.IntContents.AddRange(tensor.Data.Select(d => d.GetInt32())); break;
            case "int64": contents.Int64Contents.AddRange(tensor.Data.Select(d => d.GetInt64())); break;
            case "uint8" or "uint16" or "uint32": contents.UintContents.AddRange(tensor.Data.Select(d => d.GetUInt32())); break;
            case "uint64": contents.Uint64Contents.AddRange(tensor.Data.Select(d => d.GetUInt64())); break;
            case "bool": contents.BoolContents.AddRange(tensor.Data.Select(d => d.GetBoolean())); break;
            case "string": contents.BytesContents.AddRange(tensor.Data.Select(d => ByteString.CopyFromUtf8(d.GetString()))); break;
            default: throw new InvalidOperationException($"'{tensor.Type}' has no typed field.");
        }

        return contents;
    }

    private static ModelInferRequest.Types.InferInputTensor Tensor(string name, string datatype, long[] shape, InferTensorContents? contents = null) =>
        new() { Name = name, Datatype = datatype, Shape = { shape }, Contents = contents };

    /// <summary>multi_io's two inputs of <paramref name="rows"/> rows, raw.</summary>
    private static ModelInferRequest MultiIo(int rows)
    {
        var request = new ModelInferRequest { ModelName = "multi_io", Inputs = { Tensor("a", "FP32", [rows, 4]), Tensor("b", "FP32", [rows, 4]) } };
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[rows * 16]));
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[rows * 16]));
        return request;
    }

    private static ModelInferRequest BadRequest(string name)
    {
        var request = MultiIo(rows: 1);
        switch (name)
        {
            case "unknown model": request.ModelName = "nope"; break;
            case "unknown version": request.ModelVersion = "7"; break;
            case "bad shape": request.Inputs[0].Shape[1] = 5; break;
            case "missing input": request.Inputs.RemoveAt(1); request.RawInputContents.RemoveAt(1); break;
            case "wrong datatype": request.Inputs[0].Datatype = "INT64"; break;
            case "unknown output": request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "nope" }); break;
            case "raw too short": request.RawInputContents[0] = ByteString.CopyFrom(new byte[12]); break;
            case "raw per input": request.RawInputContents.RemoveAt(1); break;
            case "raw and typed": request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1, 2, 3, 4 } }; break;
            case "typed in the wrong field":
                request.RawInputContents.Clear();
                request.Inputs[0].Contents = new InferTensorContents { Fp64Contents = { 1, 2, 3, 4 } };
                break;
            case "typed FP16":
                request = new ModelInferRequest { ModelName = "all_types", Inputs = { Tensor("x_float16", "FP16", [1, 3], new InferTensorContents { Fp32Contents = { 1, 2, 3 } }) } };
                break;
            case "typed INT8 out of range":
                request = new ModelInferRequest { ModelName = "typed", Inputs = { Tensor("x_int8", "INT8", [1, 3], new InferTensorContents { IntContents = { 1, 300, 3 } }) } };
                break;
            case "typed BYTES not UTF-8":
                request = new ModelInferRequest { ModelName = "strings", Inputs = { Tensor("text", "BYTES", [1, 3], new InferTensorContents { BytesContents = { ByteString.CopyFrom(0xC3, 0x28), ByteString.Empty, ByteString.Empty } }) } };
                break;
            case "raw BYTES length past the end":
                request = new ModelInferRequest { ModelName = "strings", Inputs = { Tensor("text", "BYTES", [1, 3]) } };
                request.RawInputContents.Add(ByteString.CopyFrom(100, 0, 0, 0, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68));
                break;
            case "timeout not a number": request.Parameters["timeout"] = new InferParameter { StringParam = "1s" }; break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, "No such bad request.");
        }

        return request;
    }

    private static string Describe(ModelMetadataResponse.Types.TensorMetadata tensor) =>
        $"{tensor.Name} {tensor.Datatype} [{string.Join(",", tensor.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}]";
}
