using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using InProcServe.Tests.Contracts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace InProcServe.Tests.TestSupport;

// Model definitions and handlers the hosting tests register, as an app writes them.

/// <summary>What a caller of the fraud model sends: an amount and a seed that stands for the rest of the transaction.</summary>
public sealed record Payment(float Amount, int Seed);

/// <summary>What a caller gets: the probability and whether it passed the threshold.</summary>
public sealed record Verdict(float Probability, bool Flagged);

/// <summary>fraud.onnx behind a pre- and a post-processor.</summary>
public sealed class FraudModel : ModelDefinition<Payment, FraudFeatures, Contracts.FraudScore, Verdict>
{
    protected override void Configure(ModelOptions options) => options.Path = TestModels.Path("fraud");
}

/// <summary>fraud.onnx called with its own records: no handlers.</summary>
public sealed class PlainFraud : ModelDefinition<FraudFeatures, Contracts.FraudScore>
{
    protected override void Configure(ModelOptions options) => options.Path = TestModels.Path("fraud");
}

/// <summary>fraud.onnx with no default source: configuration or the builder must give one.</summary>
public sealed class UnplacedFraud : ModelDefinition<FraudFeatures, Contracts.FraudScore>;

/// <summary>slow_rows.onnx, whose requests keep a lane worker busy as long as they ask.</summary>
internal sealed class SlowModel : ModelDefinition<SlowRow, SlowResult>
{
    protected override void Configure(ModelOptions options) => options.Path = TestModels.Path("slow_rows");
}

/// <summary>A synchronous pre-processor: 30 features from the payment.</summary>
public sealed class PaymentFeatures : IPreProcessor<Payment, FraudFeatures>
{
    public ValueTask<FraudFeatures> ProcessAsync(Payment request, CancellationToken cancellationToken) => new(new FraudFeatures(Features(request)));

    /// <summary>The features a payment stands for: seeded noise, and the amount in the last column.</summary>
    public static float[] Features(Payment payment)
    {
        var random = new Random(payment.Seed);
        var features = new float[30];
        for (var i = 0; i < 29; i++) features[i] = (float)(random.NextDouble() * 4 - 2);
        features[29] = payment.Amount / 100f;
        return features;
    }
}

/// <summary>The same features, computed after an asynchronous wait.</summary>
public sealed class AsyncPaymentFeatures : IPreProcessor<Payment, FraudFeatures>
{
    public async ValueTask<FraudFeatures> ProcessAsync(Payment request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return new FraudFeatures(PaymentFeatures.Features(request));
    }
}

/// <summary>A synchronous post-processor: flags probabilities of 0.5 and more.</summary>
public sealed class Threshold : IPostProcessor<Contracts.FraudScore, Verdict>
{
    public ValueTask<Verdict> ProcessAsync(Contracts.FraudScore output, CancellationToken cancellationToken) => new(new Verdict(output.Probability, output.Probability >= 0.5f));
}

/// <summary>Reference results: fraud.onnx run directly, with no hosting.</summary>
internal static class FraudReference
{
    internal static float Probability(Payment payment)
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, Contracts.FraudScore>(session);
        return runner.Predict(new FraudFeatures(PaymentFeatures.Features(payment))).Probability;
    }

    internal static float[] Probabilities(IReadOnlyList<Payment> payments)
    {
        using var session = ModelSession.Load(TestModels.Path("fraud"));
        using var runner = ModelRunner.Create<FraudFeatures, Contracts.FraudScore>(session);
        var inputs = payments.Select(p => new FraudFeatures(PaymentFeatures.Features(p))).ToArray();
        var outputs = new Contracts.FraudScore[inputs.Length];
        runner.Predict(inputs, outputs);
        return outputs.Select(o => o.Probability).ToArray();
    }
}

/// <summary>A host with no defaults (no appsettings, no console logging), with the given configuration.</summary>
internal static class TestHost
{
    internal static HostApplicationBuilder Builder(params (string Key, string? Value)[] configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration.Select(c => KeyValuePair.Create(c.Key, c.Value)));
        builder.Services.ConfigureLane(LaneOptions.DefaultLane, o => o.Workers = 2);
        return builder;
    }
}

/// <summary>Collects the measurements of one service provider's <c>InProcServe</c> meter.</summary>
internal sealed class MetricCollector : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly ConcurrentQueue<(string Name, double Value, KeyValuePair<string, object?>[] Tags)> measurements = new();

    internal MetricCollector(IServiceProvider services)
    {
        // Meters from IMeterFactory are scoped to the factory: other tests' hosts, running in parallel, have their own.
        var factory = services.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "InProcServe" && ReferenceEquals(instrument.Meter.Scope, factory)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, tags.ToArray())));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, tags.ToArray())));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => measurements.Enqueue((i.Name, v, tags.ToArray())));
        listener.Start();
    }

    /// <summary>The measurements of <paramref name="instrument"/> whose tags include every one of <paramref name="tags"/>.</summary>
    internal IReadOnlyList<double> Values(string instrument, params (string Key, object? Value)[] tags) =>
        measurements.Where(m => m.Name == instrument && tags.All(t => m.Tags.Any(mt => mt.Key == t.Key && Equals(mt.Value, t.Value)))).Select(m => m.Value).ToList();

    internal double Sum(string instrument, params (string Key, object? Value)[] tags) => Values(instrument, tags).Sum();

    internal void ObserveGauges() => listener.RecordObservableInstruments();

    public void Dispose() => listener.Dispose();
}
