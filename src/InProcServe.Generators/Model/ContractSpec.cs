using InProcServe.Generators.Helpers;

namespace InProcServe.Generators.Model;

/// <summary>Which interface a contract implements.</summary>
internal enum ContractRole
{
    /// <summary>[ModelInput]: IModelInput, members written into input rows.</summary>
    Input,

    /// <summary>[ModelOutput]: IModelOutput, members read from output rows.</summary>
    Output,
}

/// <summary>
/// Everything the emitter needs to write one contract's binder, as plain equatable values (no symbols, no
/// syntax, no locations), so an edit elsewhere in the compilation leaves the spec equal and the output cached.
/// </summary>
/// <param name="Role">Input or output.</param>
/// <param name="HintName">The generated file's name.</param>
/// <param name="Namespace">The type's namespace, or null for the global namespace.</param>
/// <param name="ContainingTypes">Declarations of the enclosing types, outermost first ("class Outer").</param>
/// <param name="Declaration">The type's own declaration keyword and name ("record struct Transaction").</param>
/// <param name="FullyQualifiedName">The type as generated code names it ("global::Demo.Transaction").</param>
/// <param name="DisplayName">The type as messages name it ("Transaction").</param>
/// <param name="IsValueType">Whether the type is a struct: the binder reads it by reference rather than copying it.</param>
/// <param name="Tensors">The tensors, in the order the binder indexes them.</param>
/// <param name="ConstructorArguments">
/// Output only: the members passed to the constructor, in parameter order; every other member is set by
/// an object initializer.
/// </param>
internal sealed record ContractSpec(
    ContractRole Role,
    string HintName,
    string? Namespace,
    ImmutableEquatableArray<string> ContainingTypes,
    string Declaration,
    string FullyQualifiedName,
    string DisplayName,
    bool IsValueType,
    ImmutableEquatableArray<TensorSpec> Tensors,
    ImmutableEquatableArray<string> ConstructorArguments);

/// <summary>The parser's result for one annotated type: a spec when it is valid, and what it found wrong.</summary>
/// <param name="Contract">The spec, or null when an error was found.</param>
/// <param name="Diagnostics">Errors and warnings, in source order.</param>
internal sealed record ContractResult(ContractSpec? Contract, ImmutableEquatableArray<DiagnosticInfo> Diagnostics);
