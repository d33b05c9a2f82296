using InProcServe.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace InProcServe.Generators;

/// <summary>
/// Generates the binders of typed model contracts: for each type marked [ModelInput] or [ModelOutput], an
/// implementation of IModelInput or IModelOutput that copies the type's [Tensor] members straight into or out of
/// a batch's tensor memory.
/// </summary>
/// <remarks>
/// Each annotated type goes through <see cref="Parser"/> (symbols to an equatable <see cref="ContractSpec"/> and
/// diagnostics) and <see cref="Emitter"/> (spec to source). Only equatable values flow between the steps, so an
/// edit that leaves a contract's spec equal leaves its output cached.
/// </remarks>
[Generator(LanguageNames.CSharp)]
public sealed partial class ContractGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline steps, for incremental-caching tests.</summary>
    internal static class TrackingNames
    {
        /// <summary>The parsed [ModelInput] types.</summary>
        public const string InputContracts = nameof(InputContracts);

        /// <summary>The parsed [ModelOutput] types.</summary>
        public const string OutputContracts = nameof(OutputContracts);
    }

    private const string ModelInputAttributeName = "InProcServe.ModelInputAttribute";
    private const string ModelOutputAttributeName = "InProcServe.ModelOutputAttribute";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        Register(context, ModelInputAttributeName, ContractRole.Input, TrackingNames.InputContracts);
        Register(context, ModelOutputAttributeName, ContractRole.Output, TrackingNames.OutputContracts);
    }

    private static void Register(IncrementalGeneratorInitializationContext context, string attribute, ContractRole role, string trackingName)
    {
        var contracts = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                attribute,
                static (node, _) => node is TypeDeclarationSyntax,
                (syntax, cancellationToken) => Parser.Parse((INamedTypeSymbol)syntax.TargetSymbol, role, syntax.SemanticModel.Compilation, cancellationToken))
            .WithTrackingName(trackingName);

        context.RegisterSourceOutput(contracts, static (output, result) =>
        {
            foreach (var diagnostic in result.Diagnostics)
            {
                output.ReportDiagnostic(diagnostic.ToDiagnostic());
            }

            if (result.Contract is { } contract)
            {
                output.AddSource(contract.HintName, Emitter.Emit(contract));
            }
        });
    }
}
