using System.Text.Json;
using System.Text.RegularExpressions;

namespace InProcServe.AspNetCore;

/// <summary>
/// System.Text.Json's messages in a client's words: they name .NET types (<c>System.Single</c>,
/// <c>FraudModel.Transaction</c>) that mean nothing to a client and tell it how the server is built. The JSON path
/// and the field stay; the type becomes the JSON a client should send.
/// </summary>
internal static partial class JsonErrors
{
    internal static string Describe(JsonException error)
    {
        var message = error.Message;
        var path = error.Path is { Length: > 0 } p ? p : "$";
        if (MissingRequired().Match(message) is { Success: true } missing)
        {
            return $"required {(missing.Groups[1].Value.Contains(',', StringComparison.Ordinal) ? "fields are" : "field is")} missing: {missing.Groups[1].Value}.";
        }

        if (NullNotAllowed().Match(message) is { Success: true } nulled)
        {
            // The message names the C# member; the path ends with the JSON name the client wrote.
            var field = error.Path is { Length: > 0 } && LastProperty().Match(path) is { Success: true } last ? (last.Groups[1].Success ? last.Groups[1].Value : last.Groups[2].Value) : nulled.Groups[1].Value;
            return $"{path}: field '{field}' must not be null.";
        }

        if (NotConvertible().Match(message) is { Success: true } convert)
        {
            // A constructor parameter's failure names the record being built, not the member's type: then only the
            // path is known to be wrong.
            return JsonKind(convert.Groups[1].Value) is { } kind ? $"{path}: expected {kind}." : $"{path}: the value's JSON type does not fit the field.";
        }

        // The reader's own syntax errors name no type; anything else is cut at its first type name.
        return $"{path}: {TypeName().Replace(message.Split(" Path:", 2)[0], "the expected type")}";
    }

    private static string? JsonKind(string type) => type switch
    {
        "System.Single" or "System.Double" or "System.Half" or "System.Decimal" => "a number (or \"NaN\", \"Infinity\", \"-Infinity\")",
        "System.Byte" or "System.SByte" or "System.Int16" or "System.UInt16" or "System.Int32" or "System.UInt32" or "System.Int64" or "System.UInt64" => "a whole number in range",
        "System.String" => "a string",
        "System.Boolean" => "true or false",
        "System.Char" => "a one-character string",
        "System.DateTime" or "System.DateTimeOffset" => "an ISO 8601 date and time string",
        "System.Guid" => "a GUID string",
        _ when type.EndsWith("[]", StringComparison.Ordinal) || type.Contains("List`", StringComparison.Ordinal) || type.Contains("Memory`", StringComparison.Ordinal) => "an array",
        _ => null,
    };

    [GeneratedRegex(@"missing required properties including: (.+?)\.?$")]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"(?:parameter|property or field) '([^']+)' on type '[^']+' doesn't allow (?:getting |setting )?null")]
    private static partial Regex NullNotAllowed();

    [GeneratedRegex(@"(?:\.(\w+)|\['([^']+)'\])$")]
    private static partial Regex LastProperty();

    [GeneratedRegex(@"could not be converted to ([^\s.]+(?:\.[^\s.]+)*?)\.(?: Path|$)")]
    private static partial Regex NotConvertible();

    [GeneratedRegex(@"'?\b(?:System|Microsoft|[A-Z]\w*)(?:\.[A-Z]\w*)+(?:`\d+)?(?:\[[^\]]*\])*'?")]
    private static partial Regex TypeName();
}
