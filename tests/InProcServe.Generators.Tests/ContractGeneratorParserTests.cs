using System.Collections;
using System.Reflection;
using InProcServe.Generators.Model;
using InProcServe.Generators.Tests.TestSupport;
using Microsoft.CodeAnalysis;

namespace InProcServe.Generators.Tests;

/// <summary>The parser on its own: symbols in, spec models out.</summary>
public sealed class ContractGeneratorParserTests
{
    [Fact]
    public void Columns_become_one_tensor_ordered_by_column_whatever_the_member_order()
    {
        var spec = Parse("""
            [ModelInput] public partial record Transaction(
                [Tensor("features", Column = 2)] float Amount,
                [Tensor("features", Column = 0)] float Time,
                [Tensor("features", Column = 1)] float Distance);
            """, "Transaction", ContractRole.Input);

        var tensor = Assert.Single(spec.Tensors);
        Assert.Equal("features", tensor.Name);
        Assert.Equal(new ElementTypeSpec("Float", "float"), tensor.ElementType);
        Assert.Equal([3], tensor.RowShape);
        Assert.Equal(["Time", "Distance", "Amount"], tensor.Members.Select(m => m.Name));
        Assert.Equal([0, 1, 2], tensor.Members.Select(m => m.Column));
        Assert.All(tensor.Members, m => Assert.Equal(MemberKind.Column, m.Kind));
    }

    [Fact]
    public void Tensors_keep_source_order_and_each_member_kind_its_row_shape()
    {
        var spec = Parse("""
            [System.Runtime.CompilerServices.InlineArray(5)] public struct Five { private int element; }
            public enum Kind : short { A, B }
            [ModelInput] public partial class Sample
            {
                [Tensor("scalar")] public Kind Kind { get; set; }
                [Tensor("array", Length = 4)] public double[] Array { get; set; } = [];
                [Tensor("image", Shape = [3, 2, 2])] public System.ReadOnlyMemory<byte> Image { get; set; }
                [Tensor("inline")] public Five Inline;
            }
            """, "Sample", ContractRole.Input);

        Assert.Equal(["scalar", "array", "image", "inline"], spec.Tensors.Select(t => t.Name));
        Assert.Equal(
            [
                ("Int16", "", MemberKind.Scalar, 1, "global::Kind"),
                ("Double", "4", MemberKind.Array, 4, null),
                ("UInt8", "3,2,2", MemberKind.ReadOnlyMemory, 12, null),
                ("Int32", "5", MemberKind.InlineArray, 5, null),
            ],
            spec.Tensors.Select(t => (t.ElementType.TensorElementType, string.Join(",", t.RowShape), t.Members[0].Kind, t.Members[0].Length, t.Members[0].EnumType)));
        Assert.True(spec.Tensors[3].Members[0].IsField);
        Assert.False(spec.Tensors[1].Members[0].IsField);
    }

    [Fact]
    public void Names_and_declarations_describe_a_nested_generic_type()
    {
        var spec = Parse("""
            namespace Shop.Models;
            public partial class Outer<T>
            {
                [ModelOutput] internal partial record struct Score([Tensor("p")] float P);
            }
            """, "Shop.Models.Outer`1+Score", ContractRole.Output);

        Assert.Equal("Shop.Models", spec.Namespace);
        Assert.Equal(["class Outer<T>"], spec.ContainingTypes);
        Assert.Equal("record struct Score", spec.Declaration);
        Assert.Equal("global::Shop.Models.Outer<T>.Score", spec.FullyQualifiedName);
        Assert.Equal("Score", spec.DisplayName);
        Assert.Equal("Shop.Models.Outer_T_.Score.ModelOutput.g.cs", spec.HintName);
    }

    [Fact]
    public void An_output_record_is_built_through_its_primary_constructor_and_initializers_for_the_rest()
    {
        var spec = Parse("""
            [ModelOutput] public partial record Score([Tensor("label")] long Label, [Tensor("p")] float Probability)
            {
                [Tensor("logits", Length = 2)] public float[] Logits { get; init; } = [];
            }
            """, "Score", ContractRole.Output);

        Assert.Equal(["Label", "Probability"], spec.ConstructorArguments);
    }

    [Fact]
    public void An_output_class_with_only_a_parameterless_constructor_is_built_by_initializers()
    {
        var spec = Parse("""
            [ModelOutput] public partial class Score
            {
                public Score() { }
                public Score(string note) { }
                [Tensor("p")] public float Probability { get; private set; }
            }
            """, "Score", ContractRole.Output);

        Assert.Empty(spec.ConstructorArguments);
    }

    [Fact]
    public void Members_of_every_base_type_are_bound_base_types_first_each_in_declaration_order()
    {
        var spec = Parse("""
            public abstract record Timed
            {
                [Tensor("features", Column = 0)] public float Time { get; init; }
                [Tensor("kind")] protected int Kind { get; init; }
            }
            public abstract record TransactionBase : Timed
            {
                [Tensor("features", Column = 2)] public float Amount { get; init; }
            }
            [ModelInput] public partial record Transaction : TransactionBase
            {
                [Tensor("features", Column = 1)] public float Hour { get; init; }
                [Tensor("history", Length = 3)] public float[] History { get; init; } = [];
            }
            """, "Transaction", ContractRole.Input);

        Assert.Equal(["features", "kind", "history"], spec.Tensors.Select(t => t.Name));
        Assert.Equal(["Time", "Hour", "Amount"], spec.Tensors[0].Members.Select(m => m.Name));
        Assert.Equal([0, 1, 2], spec.Tensors[0].Members.Select(m => m.Column));
        Assert.Equal("Kind", spec.Tensors[1].Members.Single().Name);
    }

    [Fact]
    public void A_hidden_or_overridden_member_is_bound_once_through_its_most_derived_declaration()
    {
        var spec = Parse("""
            public abstract class Base
            {
                [Tensor("a")] public float A { get; set; }
                [Tensor("b")] public virtual float B { get; set; }
                [Tensor("c")] public float C { get; set; }
                [Tensor("d")] public virtual float D { get; set; }
            }
            [ModelInput] public partial class Row : Base
            {
                [Tensor("a2")] public new double A { get; set; }   // hides, with a mapping of its own
                public override float B { get => 2 * base.B; }      // overrides: keeps "b", and the base setter
                public new float C { get; set; }                    // hides, and the mapping with it
                [Tensor("d2")] public override float D { get; set; } // overrides with a mapping of its own
            }
            """, "Row", ContractRole.Input);

        Assert.Equal(["a2", "b", "d2"], spec.Tensors.Select(t => t.Name));
        Assert.Equal(["A", "B", "D"], spec.Tensors.Select(t => t.Members.Single().Name));
        Assert.Equal("Double", spec.Tensors[0].ElementType.TensorElementType);
    }

    [Fact]
    public void A_member_the_contract_cannot_reach_hides_nothing()
    {
        // As in C# lookup: Middle's private Amount is invisible from Transaction, so Base's is the one it sees.
        var spec = Parse("""
            public abstract class Base { [Tensor("amount")] public float Amount { get; set; } }
            public abstract class Middle : Base { private new float Amount => 0; }
            [ModelInput] public partial class Transaction : Middle;
            """, "Transaction", ContractRole.Input);

        Assert.Equal("Amount", Assert.Single(spec.Tensors).Members.Single().Name);
    }

    [Fact]
    public void A_generic_base_type_binds_its_members_as_constructed()
    {
        var spec = Parse("""
            public abstract class Sequence<T> { [Tensor("x", Length = 3)] public T[] Values { get; set; } = []; }
            [ModelInput] public partial class Row : Sequence<long>;
            """, "Row", ContractRole.Input);

        var tensor = Assert.Single(spec.Tensors);
        Assert.Equal(new ElementTypeSpec("Int64", "long"), tensor.ElementType);
        Assert.Equal("long[]", tensor.Members[0].Type);
    }

    [Fact]
    public void An_output_sets_a_positional_property_of_its_base_record_and_takes_its_own_through_its_constructor()
    {
        var spec = Parse("""
            public abstract record ScoreBase([Tensor("probability")] float Probability);
            [ModelOutput] public partial record Score([Tensor("label")] long Label) : ScoreBase(0f);
            """, "Score", ContractRole.Output);

        Assert.Equal(["probability", "label"], spec.Tensors.Select(t => t.Name));
        Assert.Equal(["Label"], spec.ConstructorArguments);
    }

    [Fact]
    public void An_inherited_output_member_without_a_setter_is_passed_to_the_constructor()
    {
        var spec = Parse("""
            public abstract class ScoreBase
            {
                protected ScoreBase(float probability) => Probability = probability;
                [Tensor("probability")] public float Probability { get; }
            }
            [ModelOutput] public partial class Score : ScoreBase
            {
                public Score(float probability) : base(probability) { }
                [Tensor("label")] public long Label { get; protected init; }
            }
            """, "Score", ContractRole.Output);

        Assert.Equal(["Probability"], spec.ConstructorArguments);
    }

    [Fact]
    public void Members_of_a_base_type_from_another_assembly_are_bound_from_metadata()
    {
        var library = GeneratorHarness.Library("Shared", """
            using InProcServe;
            namespace Shared;
            public abstract record TransactionBase([Tensor("features", Column = 0)] float Time)
            {
                [Tensor("features", Column = 1)] public float Amount { get; init; }
                [Tensor("kind")] protected int Kind { get; init; }
            }
            """);

        var spec = Parse("""
            [ModelInput] public partial record Transaction(float Time) : Shared.TransactionBase(Time)
            {
                [Tensor("features", Column = 2)] public float Hour { get; init; }
            }
            """, "Transaction", ContractRole.Input, library);

        Assert.Equal(["features", "kind"], spec.Tensors.Select(t => t.Name));
        Assert.Equal(["Time", "Amount", "Hour"], spec.Tensors[0].Members.Select(m => m.Name));
    }

    [Fact]
    public void Internal_members_of_a_base_type_from_another_assembly_are_bound_when_it_grants_access()
    {
        // Without InternalsVisibleTo the compiler doesn't load them from the reference at all (docs/diagnostics.md).
        var library = GeneratorHarness.Library("Shared", """
            [assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Contracts")]
            namespace Shared;
            public abstract class ScoreBase { [InProcServe.Tensor("probability")] internal float Probability { get; private protected set; } }
            """);

        var spec = Parse("""
            [ModelOutput] public partial class Score : Shared.ScoreBase;
            """, "Score", ContractRole.Output, library);

        Assert.Equal("Probability", Assert.Single(spec.Tensors).Members.Single().Name);
    }

    [Fact]
    public void A_constructor_parameter_takes_the_member_of_its_exact_name_before_one_that_differs_in_case()
    {
        var spec = Parse("""
            public abstract class ScoreBase { [Tensor("scaled")] public float Amount { get; set; } }
            [ModelOutput] public partial class Score : ScoreBase
            {
                public Score(float amount) => this.amount = amount;
                [Tensor("raw")] public readonly float amount;
            }
            """, "Score", ContractRole.Output);

        Assert.Equal(["amount"], spec.ConstructorArguments);
    }

    [Fact]
    public void Specs_from_separate_compilations_of_the_same_source_are_equal()
    {
        const string source = """
            [ModelInput] public partial record Transaction([Tensor("features", Length = 30)] float[] Features, [Tensor("kind")] int Kind);
            """;

        var first = Parse(source, "Transaction", ContractRole.Input);
        var second = Parse(source, "Transaction", ContractRole.Input);

        Assert.NotSame(first, second);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.NotEqual(first, Parse(source.Replace("30", "31"), "Transaction", ContractRole.Input));
    }

    [Fact]
    public void Parse_results_hold_no_symbols_syntax_or_compilations()
    {
        var result = ParseResult("""
            [ModelInput] public partial record Transaction([Tensor("features", Length = 30)] float[] Features, [Tensor("bad")] string Bad);
            """, "Transaction", ContractRole.Input);

        Assert.Single(result.Diagnostics);
        AssertHoldsOnlyValues(result, []);
    }

    private static ContractSpec Parse(string source, string metadataName, ContractRole role, params MetadataReference[] libraries)
    {
        var result = ParseResult(source, metadataName, role, libraries);
        Assert.Empty(result.Diagnostics);
        return result.Contract!;
    }

    private static ContractResult ParseResult(string source, string metadataName, ContractRole role, params MetadataReference[] libraries)
    {
        var compilation = GeneratorHarness.Compile(libraries, "using InProcServe;\n" + source);
        return ContractGenerator.Parser.Parse(compilation.GetTypeByMetadataName(metadataName)!, role, compilation, CancellationToken.None);
    }

    /// <summary>Walks the object graph and fails on anything that would pin a compilation or compare by reference.</summary>
    private static void AssertHoldsOnlyValues(object? value, HashSet<object> seen)
    {
        if (value is null or string or Enum || value.GetType().IsPrimitive || !seen.Add(value))
        {
            return;
        }

        Assert.False(value is ISymbol or SyntaxNode or Compilation or SemanticModel or Location or SyntaxTree, $"The pipeline holds a {value.GetType()}.");
        if (value is DiagnosticDescriptor)
        {
            return; // Compared by value, and static: it pins nothing.
        }

        if (value is IEnumerable items)
        {
            foreach (var item in items)
            {
                AssertHoldsOnlyValues(item, seen);
            }
        }

        foreach (var field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            AssertHoldsOnlyValues(field.GetValue(value), seen);
        }
    }
}
