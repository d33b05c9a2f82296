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
        var type = Symbol("""
            [ModelInput] public partial record Transaction([Tensor("features", Length = 30)] float[] Features, [Tensor("bad")] string Bad);
            """, "Transaction");

        var result = ContractGenerator.Parser.Parse(type, ContractRole.Input, CancellationToken.None);

        Assert.Single(result.Diagnostics);
        AssertHoldsOnlyValues(result, []);
    }

    private static ContractSpec Parse(string source, string metadataName, ContractRole role)
    {
        var result = ContractGenerator.Parser.Parse(Symbol(source, metadataName), role, CancellationToken.None);
        Assert.Empty(result.Diagnostics);
        return result.Contract!;
    }

    private static INamedTypeSymbol Symbol(string source, string metadataName) =>
        GeneratorHarness.Compile("using InProcServe;\n" + source).GetTypeByMetadataName(metadataName)!;

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
