using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace InProcServe.Generators.Tests.TestSupport;

/// <summary>Compiles test sources against the InProcServe runtime and runs the contract generator over them.</summary>
internal static class GeneratorHarness
{
    internal static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.CSharp13);

    private static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    private static readonly CSharpCompilationOptions Options = new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);

    /// <summary>A compilation of <paramref name="sources"/> (each one file) referencing the runtime.</summary>
    internal static CSharpCompilation Compile(params string[] sources) => Compile([], sources);

    /// <summary>A compilation of <paramref name="sources"/> referencing the runtime and <paramref name="libraries"/>.</summary>
    internal static CSharpCompilation Compile(MetadataReference[] libraries, params string[] sources) =>
        CSharpCompilation.Create(
            "Contracts",
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Source{i}.cs")),
            References.AddRange(libraries),
            Options);

    /// <summary>
    /// <paramref name="source"/> built into an assembly named <paramref name="name"/> and referenced as metadata, as a
    /// package is: its types have symbols but no syntax in the compilations that reference it.
    /// </summary>
    internal static MetadataReference Library(string name, string source)
    {
        var compilation = CSharpCompilation.Create(name, [CSharpSyntaxTree.ParseText(source, ParseOptions)], References, Options);
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, string.Join(Environment.NewLine, emitted.Diagnostics));
        return MetadataReference.CreateFromImage(image.ToArray());
    }

    /// <summary>A driver that records the generator's tracked steps, for caching tests.</summary>
    internal static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            [new ContractGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator over <paramref name="sources"/>.</summary>
    internal static GeneratorOutcome Run(params string[] sources) => Run([], sources);

    /// <summary>Runs the generator over <paramref name="sources"/>, which may use types of <paramref name="libraries"/>.</summary>
    internal static GeneratorOutcome Run(MetadataReference[] libraries, params string[] sources)
    {
        var compilation = Compile(libraries, sources);
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return new GeneratorOutcome(driver.GetRunResult(), output);
    }

    /// <summary>The net10.0 framework the tests run on, and the runtime assembly with the contract attributes.</summary>
    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var assemblies = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(path => Path.GetDirectoryName(path) == framework)
            .Append(typeof(ModelInputAttribute).Assembly.Location);
        return [.. assemblies.Select(path => MetadataReference.CreateFromFile(path))];
    }
}

/// <summary>What one generator run produced.</summary>
/// <param name="Result">The run result: generated sources, diagnostics, tracked steps.</param>
/// <param name="Compilation">The compilation with the generated sources added.</param>
internal sealed record GeneratorOutcome(GeneratorDriverRunResult Result, Compilation Compilation)
{
    /// <summary>The generator's diagnostics.</summary>
    internal ImmutableArray<Diagnostic> Diagnostics => Result.Diagnostics;

    /// <summary>The generated files, by hint name.</summary>
    internal IReadOnlyDictionary<string, string> Sources =>
        Result.Results.Single().GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString());

    /// <summary>Errors and warnings of the compilation including the generated code.</summary>
    internal IReadOnlyList<Diagnostic> CompilationProblems =>
        Compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
}
