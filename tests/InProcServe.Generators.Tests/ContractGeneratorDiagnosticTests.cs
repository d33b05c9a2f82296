using InProcServe.Generators.Tests.TestSupport;
using Microsoft.CodeAnalysis;

namespace InProcServe.Generators.Tests;

/// <summary>Each diagnostic of docs/diagnostics.md, reported at the member or type at fault, with its message.</summary>
public sealed class ContractGeneratorDiagnosticTests
{
    /// <summary>The source of the last <see cref="Single"/> call, which diagnostic spans index into.</summary>
    private string compiled = "";

    [Fact]
    public void IPS0001_a_type_that_is_not_partial()
    {
        var diagnostic = Single("""
            [ModelInput] public record Transaction([Tensor("x")] float Amount);
            """);

        AssertDiagnostic(diagnostic, "IPS0001", "Transaction",
            "'Transaction' must be declared partial, and so must every type that contains it, so the generator can add its IModelInput implementation");
    }

    [Fact]
    public void IPS0001_a_containing_type_that_is_not_partial()
    {
        var diagnostic = Single("""
            public class Outer
            {
                [ModelOutput] public partial record Score([Tensor("y")] float Probability);
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0001", "Score",
            "'Score' must be declared partial, and so must every type that contains it, so the generator can add its IModelOutput implementation");
    }

    [Fact]
    public void IPS0002_an_unsupported_member_type()
    {
        var diagnostic = Single("""
            [ModelInput] public partial class Transaction
            {
                [Tensor("x")] public decimal Amount { get; set; }
                [Tensor("y")] public float Fine { get; set; }
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0002", "Amount",
            "'Amount' has type 'decimal', which can't be bound to a tensor: use float, double, Half, an integer type, bool or an enum, or a T[], ReadOnlyMemory<T> or [InlineArray] struct of one of them");
    }

    [Theory]
    [InlineData("string")]
    [InlineData("float?")]
    [InlineData("float[,]")]
    [InlineData("System.Collections.Generic.List<float>")]
    [InlineData("System.Memory<float>")]
    public void IPS0002_other_unsupported_member_types(string type)
    {
        var diagnostic = Single($$"""
            [ModelInput] public partial class Transaction
            {
                [Tensor("x", Length = 2)] public {{type}} Value { get; set; } = default!;
            }
            """);

        Assert.Equal("IPS0002", diagnostic.Id);
    }

    [Fact]
    public void IPS0003_two_members_of_one_tensor_that_are_not_columns()
    {
        var diagnostic = Single("""
            [ModelInput] public partial record Transaction([Tensor("x")] float Amount, [Tensor("x", Column = 0)] float Time);
            """);

        AssertDiagnostic(diagnostic, "IPS0003", "Time",
            "Tensor 'x' is mapped by Amount, Time (column 0): only scalar members with distinct Column values can share a tensor");
    }

    [Fact]
    public void IPS0004_a_column_filled_twice()
    {
        var diagnostic = Single("""
            [ModelInput] public partial record Transaction(
                [Tensor("features", Column = 0)] float Time,
                [Tensor("features", Column = 1)] float Amount,
                [Tensor("features", Column = 1)] float Merchant);
            """);

        AssertDiagnostic(diagnostic, "IPS0004", "Merchant", "Column 1 of tensor 'features' is mapped by both Amount and Merchant");
    }

    [Fact]
    public void IPS0005_columns_with_a_gap()
    {
        var diagnostic = Single("""
            [ModelInput] public partial record Transaction(
                [Tensor("features", Column = 0)] float Time,
                [Tensor("features", Column = 3)] float Amount);
            """);

        AssertDiagnostic(diagnostic, "IPS0005", "Time",
            "Tensor 'features' has 4 columns (0 to 3) but no member maps columns 1, 2: every column of a row must be mapped");
    }

    [Fact]
    public void IPS0006_columns_of_different_element_types()
    {
        var diagnostic = Single("""
            [ModelInput] public partial record Transaction(
                [Tensor("features", Column = 0)] float Time,
                [Tensor("features", Column = 1)] double Amount);
            """);

        AssertDiagnostic(diagnostic, "IPS0006", "Amount",
            "Tensor 'features' would hold float for Time but double for Amount: all columns of a tensor must have one element type");
    }

    [Fact]
    public void IPS0006_an_enum_column_counts_as_its_underlying_type()
    {
        var diagnostic = Single("""
            public enum Channel : byte { Web, Store }
            [ModelInput] public partial record Transaction(
                [Tensor("features", Column = 0)] float Time,
                [Tensor("features", Column = 1)] Channel Channel);
            """);

        AssertDiagnostic(diagnostic, "IPS0006", "Channel",
            "Tensor 'features' would hold float for Time but byte for Channel: all columns of a tensor must have one element type");
    }

    [Theory]
    [InlineData("float[]")]
    [InlineData("System.ReadOnlyMemory<float>")]
    public void IPS0007_a_vector_without_a_length(string type)
    {
        var diagnostic = Single($$"""
            [ModelInput] public partial record Transaction([Tensor("features")] {{type}} Features);
            """);

        AssertDiagnostic(diagnostic, "IPS0007", "Features",
            "'Features' is a vector: set Length (a row of [N,Length]) or Shape (a per-row tensor) on its Tensor attribute, so the model can be checked at load and every row's length at run time");
    }

    [Theory]
    [InlineData("float", "Length = 3", "Length and Shape apply to vector members, and this member is a scalar")]
    [InlineData("float", "Shape = [3]", "Length and Shape apply to vector members, and this member is a scalar")]
    [InlineData("float", "Column = -2", "Column is -2; a column is 0 or more")]
    [InlineData("float[]", "Column = 0", "Column applies to scalar members, and this member is a vector; use Length for a whole row")]
    [InlineData("float[]", "Length = 3, Shape = [3]", "set Length or Shape, not both")]
    [InlineData("float[]", "Length = -1", "Length is -1; a length is 1 or more")]
    [InlineData("float[]", "Shape = [3, 0]", "Shape is [3,0]; a shape has at least one dimension, each 1 or more")]
    [InlineData("float[]", "Shape = new int[0]", "Shape is []; a shape has at least one dimension, each 1 or more")]
    [InlineData("float[]", "Shape = [65536, 65536]", "Shape [65536,65536] holds 4294967296 elements per row, more than a span can")]
    [InlineData("Four", "Length = 5", "'Four' holds 4 elements but the attribute declares 5")]
    [InlineData("Four", "Shape = [2, 3]", "'Four' holds 4 elements but the attribute declares 6")]
    public void IPS0008_invalid_attribute_arguments(string type, string arguments, string reason)
    {
        var diagnostic = Single($$"""
            [System.Runtime.CompilerServices.InlineArray(4)] public struct Four { private float element; }
            [ModelInput] public partial record Transaction([Tensor("x", {{arguments}})] {{type}} Value);
            """);

        AssertDiagnostic(diagnostic, "IPS0008", "Value", $"The Tensor attribute of 'Value' is invalid: {reason}");
    }

    [Fact]
    public void IPS0008_an_empty_tensor_name()
    {
        var diagnostic = Single("""
            [ModelInput] public partial record Transaction([Tensor("")] float Value);
            """);

        AssertDiagnostic(diagnostic, "IPS0008", "Value", "The Tensor attribute of 'Value' is invalid: the tensor name is empty");
    }

    [Fact]
    public void IPS0009_an_output_member_without_a_setter()
    {
        var diagnostic = Single("""
            [ModelOutput] public partial class Score
            {
                [Tensor("probability")] public float Probability { get; }
                [Tensor("label")] public long Label { get; init; }
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0009", "Probability",
            "'Probability' is read from tensor 'probability' but has no set or init accessor, and no constructor parameter takes its value, so the generated binder can't assign it");
    }

    [Fact]
    public void IPS0009_a_readonly_output_field()
    {
        var diagnostic = Single("""
            [ModelOutput] public partial struct Score
            {
                [Tensor("probability")] public readonly float Probability;
            }
            """);

        Assert.Equal("IPS0009", diagnostic.Id);
    }

    [Fact]
    public void IPS0010_an_input_member_without_a_getter()
    {
        var diagnostic = Single("""
            [ModelInput] public partial class Transaction
            {
                private float amount;
                [Tensor("amount")] public float Amount { set => amount = value; }
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0010", "Amount", "'Amount' is written into tensor 'amount' but has no get accessor");
    }

    [Fact]
    public void IPS0011_an_abstract_output_type()
    {
        var diagnostic = Single("""
            [ModelOutput] public abstract partial class Score
            {
                [Tensor("probability")] public float Probability { get; set; }
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0011", "Score", "'Score' can't be created by the generated binder: it is abstract");
    }

    [Fact]
    public void IPS0011_an_output_type_without_a_usable_constructor()
    {
        var diagnostic = Single("""
            [ModelOutput] public partial record Score([Tensor("probability")] float Probability, string Model);
            """);

        AssertDiagnostic(diagnostic, "IPS0011", "Score",
            "'Score' can't be created by the generated binder: no constructor takes only tensor members; add a parameterless constructor, or one whose parameters are named and typed like tensor members");
    }

    [Fact]
    public void IPS0011_an_output_type_with_a_required_member_no_tensor_sets()
    {
        var diagnostic = Single("""
            [ModelOutput] public partial class Score
            {
                [Tensor("probability")] public float Probability { get; set; }
                public required string Model { get; init; }
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0011", "Score",
            "'Score' can't be created by the generated binder: its required member Model is not read from a tensor");
    }

    [Fact]
    public void IPS0012_a_contract_without_tensor_members_is_a_warning()
    {
        var diagnostic = Single("""
            [ModelInput] public partial record Transaction(float Amount);
            """);

        AssertDiagnostic(diagnostic, "IPS0012", "Transaction", "'Transaction' is marked [ModelInput] but none of its fields or properties, declared or inherited, has a Tensor attribute");
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
    }

    [Fact]
    public void IPS0013_a_static_member()
    {
        var diagnostic = Single("""
            [ModelInput] public partial class Transaction
            {
                [Tensor("amount")] public static float Amount;
                [Tensor("time")] public float Time;
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0013", "Amount", "'Amount' can't be mapped to a tensor: it is static; only instance fields and properties hold a row");
    }

    [Fact]
    public void IPS0013_a_primary_constructor_parameter_of_a_class()
    {
        var diagnostic = Single("""
            [ModelInput] public partial class Transaction([Tensor("amount")] float amount)
            {
                [Tensor("time")] public float Time = amount;
            }
            """);

        AssertDiagnostic(diagnostic, "IPS0013", "amount",
            "'amount' can't be mapped to a tensor: it is a constructor parameter, not a positional record property; put the attribute on a field or property");
    }

    [Fact]
    public void IPS0004_a_column_of_a_base_type_filled_again_in_the_derived_type()
    {
        var diagnostic = Single("""
            public abstract record TransactionBase { [Tensor("features", Column = 0)] public float Amount { get; init; } }
            [ModelInput] public partial record Transaction : TransactionBase { [Tensor("features", Column = 0)] public float Hour { get; init; } }
            """);

        AssertDiagnostic(diagnostic, "IPS0004", "Hour", "Column 0 of tensor 'features' is mapped by both TransactionBase.Amount and Hour");
    }

    [Fact]
    public void IPS0002_a_member_of_a_base_type_from_another_assembly_is_reported_at_the_contract_type()
    {
        // The member has no source here, so the diagnostic points at the type that inherits it, and names its declaring type.
        var library = GeneratorHarness.Library("Shared", """
            namespace Shared;
            public abstract class TransactionBase { [InProcServe.Tensor("amount")] public decimal Amount { get; set; } }
            """);

        var diagnostic = Single("""
            [ModelInput] public partial class Transaction : Shared.TransactionBase { [Tensor("time")] public float Time { get; set; } }
            """, library);

        AssertDiagnostic(diagnostic, "IPS0002", "Transaction",
            "'TransactionBase.Amount' has type 'decimal', which can't be bound to a tensor: use float, double, Half, an integer type, bool or an enum, or a T[], ReadOnlyMemory<T> or [InlineArray] struct of one of them");
    }

    [Fact]
    public void IPS0009_an_inherited_output_member_whose_setter_is_private_to_the_base_type()
    {
        var diagnostic = Single("""
            public abstract class ScoreBase { [Tensor("probability")] public float Probability { get; private set; } }
            [ModelOutput] public partial class Score : ScoreBase { [Tensor("label")] public long Label { get; init; } }
            """);

        AssertDiagnostic(diagnostic, "IPS0009", "Probability",
            "'ScoreBase.Probability' is read from tensor 'probability' but its set accessor is private in 'ScoreBase', and no constructor parameter takes its value, so the generated binder can't assign it");
    }

    [Fact]
    public void IPS0009_an_inherited_private_output_field()
    {
        var diagnostic = Single("""
            public abstract class ScoreBase { [Tensor("probability")] private float probability; public float Probability => probability; }
            [ModelOutput] public partial class Score : ScoreBase;
            """);

        AssertDiagnostic(diagnostic, "IPS0009", "probability",
            "'ScoreBase.probability' is read from tensor 'probability' but is private in 'ScoreBase', and no constructor parameter takes its value, so the generated binder can't assign it");
    }

    [Fact]
    public void IPS0010_an_inherited_input_member_whose_getter_is_private_to_the_base_type()
    {
        var diagnostic = Single("""
            public abstract class TransactionBase { [Tensor("amount")] public float Amount { private get; set; } }
            [ModelInput] public partial class Transaction : TransactionBase;
            """);

        AssertDiagnostic(diagnostic, "IPS0010", "Amount", "'TransactionBase.Amount' is written into tensor 'amount' but its get accessor is private in 'TransactionBase'");
    }

    [Fact]
    public void IPS0011_a_required_member_of_a_base_type_that_no_tensor_sets()
    {
        var diagnostic = Single("""
            public abstract class ScoreBase { public required string Model { get; init; } }
            [ModelOutput] public partial class Score : ScoreBase { [Tensor("probability")] public float Probability { get; set; } }
            """);

        AssertDiagnostic(diagnostic, "IPS0011", "Score",
            "'Score' can't be created by the generated binder: its required member ScoreBase.Model is not read from a tensor");
    }

    [Fact]
    public void Attribute_arguments_the_compiler_rejects_leave_the_error_to_the_compiler()
    {
        var outcome = GeneratorHarness.Run("""
            using InProcServe;
            [ModelInput] public partial record Transaction([Tensor("x", Column = "one")] float A, [Tensor("y", Shape = [1, "two"])] float[] B);
            """);

        Assert.Null(outcome.Result.Results.Single().Exception);
        Assert.Contains(outcome.Compilation.GetDiagnostics(), d => d.Id == "CS0029");
    }

    [Fact]
    public void Every_descriptor_has_a_row_in_docs_diagnostics_md()
    {
        var table = File.ReadAllText(Path.Combine(Baselines.RepositoryRoot, "docs", "diagnostics.md"));
        var descriptors = typeof(ContractGenerator.DiagnosticDescriptors)
            .GetProperties()
            .Select(p => (DiagnosticDescriptor)p.GetValue(null)!)
            .ToList();

        Assert.Equal(13, descriptors.Count);
        Assert.Equal(descriptors.Count, descriptors.Select(d => d.Id).Distinct().Count());
        foreach (var descriptor in descriptors)
        {
            Assert.Contains($"| {descriptor.Id} | {descriptor.DefaultSeverity} | {descriptor.Title} |", table);
            Assert.Contains($"## {descriptor.Id}\n", table.ReplaceLineEndings("\n"));
        }
    }

    /// <summary>Runs the generator and returns its one diagnostic; the generated code, if any, must compile.</summary>
    private Diagnostic Single(string source, params MetadataReference[] libraries)
    {
        compiled = "using InProcServe;\n" + source;
        var outcome = GeneratorHarness.Run(libraries, compiled);
        var diagnostic = Assert.Single(outcome.Diagnostics);
        if (diagnostic.Severity == DiagnosticSeverity.Error)
        {
            Assert.Empty(outcome.Sources);
        }

        return diagnostic;
    }

    private void AssertDiagnostic(Diagnostic diagnostic, string id, string locatedAt, string message)
    {
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(message, diagnostic.GetMessage());
        Assert.Equal("Source0.cs", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(locatedAt, compiled.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
    }
}
