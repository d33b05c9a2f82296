using InProcServe.Generators.Tests.TestSupport;

namespace InProcServe.Generators.Tests;

/// <summary>
/// The emitter's output for representative contracts, compared with the checked-in baselines (see
/// <see cref="Baselines"/> to regenerate), and compiled with the contracts to prove it builds without warnings.
/// </summary>
public sealed class ContractGeneratorEmitterTests
{
    public static TheoryData<string> Cases => [.. Sources.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Generated_source_matches_the_baseline_and_compiles_cleanly(string name)
    {
        var outcome = GeneratorHarness.Run(Sources[name]);

        Assert.Empty(outcome.Diagnostics);
        Assert.Empty(outcome.CompilationProblems);
        foreach (var (hintName, source) in outcome.Sources)
        {
            Baselines.Verify(Path.Combine(name, hintName), source);
        }

        if (!Baselines.Updating)
        {
            Assert.Equal(Baselines.Existing(name).Order(), outcome.Sources.Keys.Order());
        }
    }

    [Fact]
    public void Contracts_nested_in_generic_types_and_interfaces_with_keyword_and_obsolete_members_compile_cleanly()
    {
        var outcome = GeneratorHarness.Run("""
            using InProcServe;
            namespace Shop;
            public partial class Outer<T>
                where T : class
            {
                [ModelOutput] internal partial record struct Score([Tensor("p")] float P, [Tensor("event")] long @event)
                {
                    [System.Obsolete("Use P.")] [Tensor("old")] public float Old { get; init; }
                }
            }

            public partial interface IModels
            {
                [ModelInput] public partial class Request
                {
                    [Tensor("x", Length = 2)] private int[] values = [1, 2];
                }
            }
            """);

        Assert.Empty(outcome.Diagnostics);
        Assert.Empty(outcome.CompilationProblems);
        Assert.Equal(["Shop.IModels.Request.ModelInput.g.cs", "Shop.Outer_T_.Score.ModelOutput.g.cs"], outcome.Sources.Keys.Order());
    }

    [Fact]
    public void A_contract_derived_from_another_contract_gets_a_binder_of_its_own_and_both_compile_cleanly()
    {
        var outcome = GeneratorHarness.Run("""
            using InProcServe;
            namespace Shop;
            [ModelInput] public partial record Transaction([Tensor("features", Column = 0)] float Amount);
            [ModelInput] public partial record CardTransaction(float Amount, [Tensor("features", Column = 1)] float Hour) : Transaction(Amount);
            [ModelOutput] public partial record Score([Tensor("probability")] float Probability);
            [ModelOutput] public sealed partial record LabeledScore([Tensor("label")] long Label) : Score(0f);
            """);

        Assert.Empty(outcome.Diagnostics);
        Assert.Empty(outcome.CompilationProblems);
        Assert.Contains("ImmutableArray.Create<int>(2), \"Amount, Hour\")", outcome.Sources["Shop.CardTransaction.ModelInput.g.cs"]);
        Assert.Contains("ImmutableArray.Create<int>(1), \"Amount\")", outcome.Sources["Shop.Transaction.ModelInput.g.cs"]);
        Assert.Contains("new global::Shop.LabeledScore(r1[0])", outcome.Sources["Shop.LabeledScore.ModelOutput.g.cs"]);
    }

    /// <summary>
    /// The baseline cases: the fraud contract of the README, every vector form, every scalar form, and members
    /// inherited from base types.
    /// </summary>
    private static readonly Dictionary<string, string> Sources = new()
    {
        ["Fraud"] = """
            using InProcServe;

            namespace Demo;

            /// <summary>The 30 features of the fraud model: time, 28 anonymized components, amount.</summary>
            [ModelInput]
            public partial record Transaction
            {
                [Tensor("features", Column = 0)] public float Time { get; init; }
                [Tensor("features", Column = 1)] public float V1 { get; init; }
                [Tensor("features", Column = 2)] public float V2 { get; init; }
                [Tensor("features", Column = 3)] public float V3 { get; init; }
                [Tensor("features", Column = 4)] public float V4 { get; init; }
                [Tensor("features", Column = 5)] public float V5 { get; init; }
                [Tensor("features", Column = 6)] public float V6 { get; init; }
                [Tensor("features", Column = 7)] public float V7 { get; init; }
                [Tensor("features", Column = 8)] public float V8 { get; init; }
                [Tensor("features", Column = 9)] public float V9 { get; init; }
                [Tensor("features", Column = 10)] public float V10 { get; init; }
                [Tensor("features", Column = 11)] public float V11 { get; init; }
                [Tensor("features", Column = 12)] public float V12 { get; init; }
                [Tensor("features", Column = 13)] public float V13 { get; init; }
                [Tensor("features", Column = 14)] public float V14 { get; init; }
                [Tensor("features", Column = 15)] public float V15 { get; init; }
                [Tensor("features", Column = 16)] public float V16 { get; init; }
                [Tensor("features", Column = 17)] public float V17 { get; init; }
                [Tensor("features", Column = 18)] public float V18 { get; init; }
                [Tensor("features", Column = 19)] public float V19 { get; init; }
                [Tensor("features", Column = 20)] public float V20 { get; init; }
                [Tensor("features", Column = 21)] public float V21 { get; init; }
                [Tensor("features", Column = 22)] public float V22 { get; init; }
                [Tensor("features", Column = 23)] public float V23 { get; init; }
                [Tensor("features", Column = 24)] public float V24 { get; init; }
                [Tensor("features", Column = 25)] public float V25 { get; init; }
                [Tensor("features", Column = 26)] public float V26 { get; init; }
                [Tensor("features", Column = 27)] public float V27 { get; init; }
                [Tensor("features", Column = 28)] public float V28 { get; init; }
                [Tensor("features", Column = 29)] public float Amount { get; init; }
            }

            [ModelOutput]
            public partial record FraudScore([Tensor("probability")] float Probability);
            """,
        ["Vectors"] = """
            using System;
            using System.Runtime.CompilerServices;
            using InProcServe;

            namespace Demo.Vision;

            public enum Label : long { Cat, Dog, Bird }

            [InlineArray(3)]
            public struct Rgb { private float element; }

            public static partial class Contracts
            {
                /// <summary>An image as a per-row tensor, with an embedding and a mask beside it.</summary>
                [ModelInput]
                public readonly partial record struct Picture(
                    [Tensor("image", Shape = [3, 4, 4])] byte[] Pixels,
                    [property: Tensor("embedding", Length = 8)] ReadOnlyMemory<Half> Embedding)
                {
                    [Tensor("labels", Length = 2)] public Label[] Hints { get; init; } = [];
                    [Tensor("mean")] public Rgb Mean { get; init; }
                    [Tensor("scale")] public readonly Rgb Scale;
                }

                [ModelOutput]
                public sealed partial class Analysis
                {
                    [Tensor("normalized", Shape = [3, 4, 4])] public float[] Normalized { get; init; } = [];
                    [Tensor("channel_mean")] public Rgb ChannelMean { get; init; }
                    [Tensor("top", Length = 2)] public ReadOnlyMemory<Label> Top { get; set; }
                    [Tensor("scores", Length = 3)] public ReadOnlyMemory<float> Scores;
                }
            }
            """,
        ["Inherited"] = """
            using InProcServe;

            namespace Demo.Inherited;

            /// <summary>Columns every transaction has, declared once.</summary>
            public abstract record TransactionBase
            {
                [Tensor("features", Column = 0)] public float Amount { get; init; }
                [Tensor("features", Column = 2)] public virtual float Distance { get; init; }
                [Tensor("channel")] protected int Channel { get; init; }
            }

            /// <summary>A positional record in the middle of the chain.</summary>
            public abstract record CardTransaction([Tensor("features", Column = 1)] float Hour) : TransactionBase;

            /// <summary>Binds Amount, Hour and Distance (through its override) into one tensor, and its own history.</summary>
            [ModelInput]
            public partial record Transaction(float Hour) : CardTransaction(Hour)
            {
                public override float Distance { get => base.Distance; init => base.Distance = value; }
                [Tensor("history", Length = 4)] public float[] History { get; init; } = [];
            }

            /// <summary>An output base: one member set through the constructor, one through a protected init accessor.</summary>
            public abstract class ScoreBase
            {
                protected ScoreBase(float probability) => Probability = probability;
                [Tensor("probability")] public float Probability { get; }
                [Tensor("label")] public long Label { get; protected init; }
            }

            [ModelOutput]
            public sealed partial class FraudScore : ScoreBase
            {
                public FraudScore(float probability) : base(probability) { }
                [Tensor("logits", Length = 2)] public float[] Logits { get; init; } = [];
            }
            """,
        ["Scalars"] = """
            using System;
            using InProcServe;

            public enum Channel : byte { Web, Store }

            [ModelInput]
            public partial struct Row
            {
                [Tensor("f32")] public float F32;
                [Tensor("f64")] public double F64;
                [Tensor("f16")] public Half F16;
                [Tensor("i8")] public sbyte I8;
                [Tensor("i16")] public short I16;
                [Tensor("i32")] public int I32;
                [Tensor("i64")] public long I64;
                [Tensor("u8")] public byte U8;
                [Tensor("u16")] public ushort U16;
                [Tensor("u32")] public uint U32;
                [Tensor("u64")] public ulong U64;
                [Tensor("flag")] public bool Flag;
                [Tensor("channel")] public Channel Channel;
            }

            [ModelOutput]
            public partial record struct Result(
                [Tensor("total")] double Total,
                [Tensor("class", Column = 1)] Channel Second,
                [Tensor("class", Column = 0)] Channel First)
            {
                [Tensor("flag")] public bool Flag { get; set; }
                [Tensor("half")] public Half Half;
            }
            """,
    };
}
