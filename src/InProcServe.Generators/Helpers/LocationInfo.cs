using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace InProcServe.Generators.Helpers;

/// <summary>
/// Where a diagnostic points, as plain values: a <see cref="Location"/> holds its syntax tree alive and
/// compares by reference, so keeping one in the pipeline would defeat caching.
/// </summary>
/// <param name="FilePath">The source file.</param>
/// <param name="TextSpan">The span in the file.</param>
/// <param name="LineSpan">The lines and columns of the span.</param>
internal sealed record LocationInfo(string FilePath, TextSpan TextSpan, LinePositionSpan LineSpan)
{
    /// <summary>Turns the values back into a location for reporting.</summary>
    public Location ToLocation() => Location.Create(FilePath, TextSpan, LineSpan);

    /// <summary>Captures <paramref name="location"/>, or returns null for a location outside source.</summary>
    public static LocationInfo? From(Location? location) =>
        location?.SourceTree is null ? null : new(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}

/// <summary>A diagnostic found by the parser, reported by the output step.</summary>
/// <param name="Descriptor">What went wrong.</param>
/// <param name="Location">Where, or null.</param>
/// <param name="MessageArguments">The values the descriptor's message format takes.</param>
internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, LocationInfo? Location, ImmutableEquatableArray<string> MessageArguments)
{
    /// <summary>Creates the Roslyn diagnostic.</summary>
    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Descriptor, Location?.ToLocation(), MessageArguments.Cast<object>().ToArray());
}
