using System.Collections.Immutable;
using System.Reflection;
using InProcServe.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace InProcServe.Cli.Tests.TestSupport;

/// <summary>
/// Compiles C# in memory as a project that references InProcServe does: against the framework and InProcServe.dll, with
/// InProcServe's source generator, warnings reported (projects here treat them as errors).
/// </summary>
internal static class ContractCompiler
{
    private static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    /// <summary>Compiles and loads <paramref name="source"/>; fails the test with every error and warning.</summary>
    internal static Assembly CompileAndLoad(string source, string assemblyName)
    {
        var parseOptions = new CSharpParseOptions(LanguageVersion.CSharp13);
        var compilation = CSharpCompilation.Create(
            assemblyName,
            [CSharpSyntaxTree.ParseText(source, parseOptions, path: "Scaffolded.cs")],
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        CSharpGeneratorDriver.Create([new ContractGenerator().AsSourceGenerator()], parseOptions: parseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var generated, out var generatorDiagnostics);
        var problems = generatorDiagnostics.Concat(generated.GetDiagnostics()).Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, "The scaffolded code does not compile cleanly:\n" + string.Join("\n", problems) + "\n" + source);

        using var image = new MemoryStream();
        var emitted = generated.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        return Assembly.Load(image.ToArray());
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // The framework, InProcServe and what its public types expose (Microsoft.Extensions.*), as a package reference brings them.
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var assemblies = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(path => Path.GetDirectoryName(path) == framework || Path.GetFileName(path).StartsWith("Microsoft.Extensions.", StringComparison.Ordinal))
            .Append(typeof(ModelSession).Assembly.Location);
        return [.. assemblies.Select(path => MetadataReference.CreateFromFile(path))];
    }
}
