using InProcServe;
using Microsoft.Extensions.Configuration;

namespace FraudModel;

/// <summary>
/// The fraud model: raw transactions in, decisions out. The model file is embedded in this assembly, so an app
/// that references it has the model with nothing to deploy beside it.
/// </summary>
public sealed class Fraud : ModelDefinition<Transaction, FraudFeatures, FraudScore, FraudDecision>
{
    protected override void Configure(ModelOptions options) => options.ModelBytes = static _ => EmbeddedModel.Value;

    private static readonly Lazy<byte[]> EmbeddedModel = new(() =>
    {
        using var resource = typeof(Fraud).Assembly.GetManifestResourceStream("fraud.onnx")!;
        using var bytes = new MemoryStream();
        resource.CopyTo(bytes);
        return bytes.ToArray();
    });
}

/// <summary>
/// A card transaction as the payment system records it. Every field is required: each is a constructor parameter
/// with no default, and the strings are not nullable, so a body that leaves one out or sends null is refused with
/// a 400 naming it (System.Text.Json's RespectRequiredConstructorParameters and RespectNullableAnnotations, which
/// MapModel turns on) instead of reaching <see cref="TransactionFeatures"/> as 0 or null.
/// </summary>
public sealed record Transaction(
    long Id,
    double Seconds,
    float Amount,
    int MerchantCategory,
    string Country,
    string HomeCountry,
    bool CardPresent,
    int TransactionsLastHour,
    float DistanceKm,
    int AccountAgeDays);

/// <summary>fraud.onnx's input: 30 features per transaction.</summary>
[ModelInput]
public readonly partial record struct FraudFeatures([Tensor("features", Length = 30)] float[] Features);

/// <summary>fraud.onnx's output.</summary>
[ModelOutput]
public readonly partial record struct FraudScore([Tensor("probability")] float Probability);

/// <summary>What the worker acts on.</summary>
public readonly record struct FraudDecision(float Probability, bool Flagged);

/// <summary>Feature engineering: scales, encodes and buckets a transaction's fields into the model's 30 columns.</summary>
public sealed class TransactionFeatures : IPreProcessor<Transaction, FraudFeatures>
{
    private const int Categories = 10;
    private const int CountryBuckets = 10;

    public ValueTask<FraudFeatures> ProcessAsync(Transaction t, CancellationToken cancellationToken)
    {
        var f = new float[30];
        var hour = t.Seconds % 86_400 / 3_600;
        f[0] = (float)(t.Seconds / 172_800);                                  // time over the two-day window the model saw
        f[1] = (float)Math.Sin(hour / 24 * 2 * Math.PI);                       // hour of day, cyclic
        f[2] = (float)Math.Cos(hour / 24 * 2 * Math.PI);
        f[3] = (MathF.Log(1 + t.Amount) - 3.5f) / 1.5f;                        // log amount, standardized
        f[4] = t.CardPresent ? 1 : -1;
        f[5] = t.Country == t.HomeCountry ? -1 : 1;                            // abroad
        f[6] = (t.TransactionsLastHour - 2) / 3f;                              // velocity
        f[7] = MathF.Log(1 + t.DistanceKm) / 5;
        f[8] = MathF.Log(1 + t.AccountAgeDays) / 7;
        f[9 + Math.Clamp(t.MerchantCategory, 0, Categories - 1)] = 1;          // one-hot merchant category: 9–18
        f[19 + Bucket(t.Country)] = 1;                                         // hashed country: 19–28
        f[29] = t.Amount / 250;
        return new(new FraudFeatures(f));
    }

    /// <summary>A stable bucket for a country code (string.GetHashCode is randomized per process).</summary>
    private static int Bucket(string country)
    {
        var hash = 17;
        foreach (var c in country) hash = hash * 31 + c;
        return (int)((uint)hash % CountryBuckets);
    }
}

/// <summary>
/// Flags a transaction whose probability reaches the threshold: configuration key <c>Fraud:Threshold</c>
/// (<c>--threshold</c> for the worker); default 0.5, the model's metadata value.
/// </summary>
public sealed class FraudThreshold(IConfiguration configuration) : IPostProcessor<FraudScore, FraudDecision>
{
    private readonly float threshold = float.TryParse(configuration["Fraud:Threshold"], System.Globalization.CultureInfo.InvariantCulture, out var t) ? t : 0.5f;

    public ValueTask<FraudDecision> ProcessAsync(FraudScore output, CancellationToken cancellationToken) =>
        new(new FraudDecision(output.Probability, output.Probability >= threshold));
}
