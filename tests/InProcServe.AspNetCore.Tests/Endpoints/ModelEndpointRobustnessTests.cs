using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using InProcServe.AspNetCore.Tests.TestSupport;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore.Tests.Endpoints;

/// <summary>
/// Issue 14's defect classes on a typed endpoint, through the HTTP pipeline: ProblemDetails naming the field, no .NET
/// type names, one valid JSON body per answer, NaN and the infinities both ways.
/// </summary>
public sealed class ModelEndpointRobustnessTests
{
    [Theory]
    [InlineData("""{"customer": "c"}""", "required field is missing: 'features'.")]
    [InlineData("""{"features": null}""", "$.features: field 'features' must not be null.")]
    [InlineData("""{"features": "many"}""", "$.features: expected an array.")]
    [InlineData("""{"features": [1, "x"]}""", "$.features[1]: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\").")]
    [InlineData("""{"features": [1, true]}""", "$.features[1]: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\").")]
    [InlineData("""{"features": {}}""", "$.features: expected an array.")]
    [InlineData("""{"features": [], "customer": 5}""", "$.customer: the value's JSON type does not fit the field.")]
    public async Task A_missing_null_or_mistyped_field_is_a_400_naming_it_with_no_dotnet_type(string body, string detail)
    {
        await using var host = await StartScoring();

        var answer = await host.Client.PostAsync("/score", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        var text = (await Problem(answer)).GetProperty("detail").GetString()!;
        Assert.Equal($"The body is not a valid ScoreRequest: {detail}", text);
        Assert.DoesNotContain("System.", text);
    }

    [Fact]
    public async Task An_array_whose_second_item_fails_is_one_ProblemDetails_and_nothing_else()
    {
        await using var host = await StartScoring();

        var answer = await host.Client.PostAsync("/score", new StringContent(
            $$"""[{"features": [{{string.Join(",", new float[30])}}]}, {"features": [1, 2, 3]}]""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        // The whole body parses as one JSON object: no first answer written ahead of the error.
        Assert.Contains("has 3 elements; the model contract declares 30.", (await Problem(answer)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task NaN_and_the_infinities_are_read_and_a_NaN_score_is_written_as_the_string_NaN()
    {
        var reference = TestModels.Reference("fraud").Cases[1];
        var row = reference.Inputs[0].Data.Select(d => d.GetRawText()).ToArray();
        await using var host = await StartScoring();
        row[3] = "\"NaN\"";
        var nan = await host.Client.PostAsync("/score", new StringContent($$"""{"features": [{{string.Join(",", row)}}]}""", Encoding.UTF8, "application/json"));
        row[3] = "\"-Infinity\"";
        var infinite = await host.Client.PostAsync("/score", new StringContent($$"""{"features": [{{string.Join(",", row)}}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, nan.StatusCode);
        Assert.Equal("""{"probability":"NaN","flagged":false}""", await nan.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, infinite.StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public async Task A_body_that_is_not_JSON_by_its_content_type_is_415(string? contentType)
    {
        await using var host = await StartScoring();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"features": [{{string.Join(",", new float[30])}}]}"""));
        if (contentType is not null) content.Headers.ContentType = new(contentType);

        var answer = await host.Client.PostAsync("/score", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, answer.StatusCode);
        Assert.StartsWith("The body must be JSON", (await Problem(answer)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Invalid_UTF8_and_deep_nesting_are_400()
    {
        await using var host = await StartScoring();
        var bytes = Encoding.UTF8.GetBytes("""{"features": [], "customer": "X"}""");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xC0;
        var invalid = new ByteArrayContent(bytes);
        invalid.Headers.ContentType = new("application/json");

        var utf8 = await host.Client.PostAsync("/score", invalid);
        var deep = await host.Client.PostAsync("/score", new StringContent(new string('[', 1000), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, utf8.StatusCode);
        Assert.StartsWith("The body is not valid UTF-8", (await Problem(utf8)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, deep.StatusCode);
        Assert.StartsWith("The body is not valid JSON: The maximum configured depth of 32 has been exceeded.", (await Problem(deep)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task An_array_over_the_per_call_cap_is_refused_naming_the_cap()
    {
        await using var host = await StartScoring();

        var answer = await host.Client.PostAsJsonAsync("/score", Enumerable.Range(0, 65).Select(_ => new ScoreRequest(new float[30])).ToArray());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.StatusCode);
        Assert.Equal("The array holds more than 64 requests, the most one call may send (ModelEndpointOptions.MaxRequestsPerCall); split it into smaller calls.", (await Problem(answer)).GetProperty("detail").GetString());
    }

    private static async Task<JsonElement> Problem(HttpResponseMessage answer)
    {
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType!.MediaType);
        return JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
    }

    private static Task<WebHost> StartScoring() =>
        WebHost.StartAsync(
            builder => builder.Services.AddModel<Scoring>().AddPreProcessor<ScoringPre>().AddPostProcessor<ScoringPost>(),
            app => app.MapModel<Scoring>("/score"));
}
