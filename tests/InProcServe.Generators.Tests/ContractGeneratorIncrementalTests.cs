using InProcServe.Generators.Tests.TestSupport;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace InProcServe.Generators.Tests;

/// <summary>The pipeline caches: an edit that leaves a contract's spec equal must not re-emit it.</summary>
public sealed class ContractGeneratorIncrementalTests
{
    private const string Contracts = """
        using InProcServe;
        namespace Demo;
        [ModelInput] public partial record Transaction([Tensor("features", Length = 30)] float[] Features);
        [ModelOutput] public partial record FraudScore([Tensor("probability")] float Probability);
        """;

    private const string Unrelated = """
        namespace Demo;
        public static class Helpers { public static int Twice(int x) => x * 2; }
        """;

    [Fact]
    public void An_edit_in_another_file_reparses_to_equal_specs_and_emits_nothing()
    {
        var (driver, compilation) = RunOnce(Contracts, Unrelated);

        var edited = Replace(compilation, 1, Unrelated.Replace("x * 2", "x + x"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        // The parse step reruns (the compilation changed, so its semantic model did too) but yields equal specs,
        // so the output step is skipped: that is what the equatable models buy.
        AssertAll(result, ContractGenerator.TrackingNames.InputContracts, IncrementalStepRunReason.Unchanged);
        AssertAll(result, ContractGenerator.TrackingNames.OutputContracts, IncrementalStepRunReason.Unchanged);
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }

    [Fact]
    public void An_edit_in_the_contract_file_that_changes_no_contract_leaves_the_specs_unchanged()
    {
        var (driver, compilation) = RunOnce(Contracts, Unrelated);

        var edited = Replace(compilation, 0, Contracts + "\npublic class Unrelated { public int Value; }\n");
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        AssertAll(result, ContractGenerator.TrackingNames.InputContracts, IncrementalStepRunReason.Unchanged);
        AssertAll(result, ContractGenerator.TrackingNames.OutputContracts, IncrementalStepRunReason.Unchanged);
    }

    [Fact]
    public void Changing_a_contract_reruns_only_that_contract()
    {
        var (driver, compilation) = RunOnce(Contracts, Unrelated);

        var edited = Replace(compilation, 0, Contracts.Replace("Length = 30", "Length = 31"));
        var run = driver.RunGenerators(edited).GetRunResult();
        var result = run.Results.Single();

        AssertAll(result, ContractGenerator.TrackingNames.InputContracts, IncrementalStepRunReason.Modified);
        AssertAll(result, ContractGenerator.TrackingNames.OutputContracts, IncrementalStepRunReason.Unchanged);
        Assert.Contains("ImmutableArray.Create<int>(31)", result.GeneratedSources.Single(s => s.HintName.Contains("Transaction")).SourceText.ToString());
    }

    [Fact]
    public void Changing_a_base_type_in_another_file_reruns_the_contract_that_inherits_from_it()
    {
        const string derived = """
            using InProcServe;
            namespace Demo;
            [ModelInput] public partial record CardTransaction : TransactionBase { [Tensor("features", Column = 1)] public float Hour { get; init; } }
            [ModelOutput] public partial record FraudScore([Tensor("probability")] float Probability);
            """;
        const string baseType = """
            using InProcServe;
            namespace Demo;
            public abstract record TransactionBase { [Tensor("features", Column = 0)] public float Amount { get; init; } }
            """;
        var (driver, compilation) = RunOnce(derived, baseType);

        var withMethod = baseType.Replace("init; } }", "init; } public float Twice() => 2 * Amount; }");
        var withColumn = baseType.Replace("init; } }", "init; } [Tensor(\"features\", Column = 2)] public float Distance { get; init; } }");
        Assert.NotEqual(baseType, withMethod);
        Assert.NotEqual(baseType, withColumn);

        var unrelatedEdit = Replace(compilation, 1, withMethod);
        driver = driver.RunGenerators(unrelatedEdit);
        AssertAll(driver.GetRunResult().Results.Single(), ContractGenerator.TrackingNames.InputContracts, IncrementalStepRunReason.Unchanged);

        var result = driver.RunGenerators(Replace(unrelatedEdit, 1, withColumn)).GetRunResult().Results.Single();

        AssertAll(result, ContractGenerator.TrackingNames.InputContracts, IncrementalStepRunReason.Modified);
        AssertAll(result, ContractGenerator.TrackingNames.OutputContracts, IncrementalStepRunReason.Unchanged);
        Assert.Contains("\"Amount, Hour, Distance\"", result.GeneratedSources.Single(s => s.HintName.Contains("CardTransaction")).SourceText.ToString());
    }

    private static (GeneratorDriver Driver, Compilation Compilation) RunOnce(params string[] sources)
    {
        var compilation = GeneratorHarness.Compile(sources);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        AssertAll(first, ContractGenerator.TrackingNames.InputContracts, IncrementalStepRunReason.New);
        return (driver, compilation);
    }

    private static Compilation Replace(Compilation compilation, int index, string source)
    {
        var old = compilation.SyntaxTrees.ElementAt(index);
        return compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(source, GeneratorHarness.ParseOptions, old.FilePath));
    }

    private static void AssertAll(GeneratorRunResult result, string step, IncrementalStepRunReason reason)
    {
        var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, output => Assert.Equal(reason, output.Reason));
    }
}
