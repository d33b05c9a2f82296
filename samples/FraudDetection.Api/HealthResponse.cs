using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

/// <summary>
/// /health/ready as JSON: the overall status, then each check (one per model) with its status and cause, so an
/// operator sees why the app is Degraded without reading its log. Written with Utf8JsonWriter: no reflection (AOT).
/// </summary>
internal static class HealthResponse
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        // Relaxed escaping keeps the messages' quotes readable: the answer is JSON, never embedded in HTML.
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteString("description", entry.Description);
            if (entry.Data.TryGetValue("cause", out var cause)) json.WriteString("cause", cause?.ToString());
            if (entry.Data.TryGetValue("version", out var version)) json.WriteString("version", version?.ToString());
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
