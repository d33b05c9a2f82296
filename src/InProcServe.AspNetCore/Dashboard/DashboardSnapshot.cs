using System.Text.Json;
using System.Text.Json.Serialization;

namespace InProcServe.AspNetCore;

// What the dashboard's page reads every few seconds (GET <pattern>/api/snapshot), serialized by the source-generated
// DashboardJsonContext: no reflection, so the dashboard runs trimmed and AOT-compiled. Numbers that may be NaN in the
// core's reports are null here, which JSON can carry.

internal sealed record DashboardSnapshot(DateTimeOffset Time, int RefreshMilliseconds, IReadOnlyList<DashboardModel> Models);

internal sealed record DashboardModel(
    string Name,
    string State,
    string Health,
    string? HealthCause,
    long? Version,
    IReadOnlyList<long> Versions,
    string? Lane,
    int LaneWorkers,
    int QueueLength,
    int QueueCapacity,
    int MaxBatchSize,
    long? CanaryVersion,
    double CanaryPercent,
    long? ShadowVersion,
    double ShadowPercent,
    long Requests,
    IReadOnlyDictionary<string, long> Outcomes,
    IReadOnlyDictionary<string, long> AnsweredByVersion,
    IReadOnlyList<double> LatencyMilliseconds,
    IReadOnlyList<int> BatchSizeBounds,
    IReadOnlyList<long> BatchSizeCounts,
    IReadOnlyDictionary<string, long> ShadowOutcomes,
    long ShadowDisagreements,
    double? ShadowAgreement,
    DashboardMonitoring? Monitoring,
    IReadOnlyList<DashboardEvent> History);

internal sealed record DashboardMonitoring(double SampleRate, IReadOnlyList<DashboardVersion> Versions);

internal sealed record DashboardVersion(long Version, string Role, long SampledRows, IReadOnlyList<DashboardOutput> Outputs, IReadOnlyList<DashboardColumn> Inputs);

internal sealed record DashboardOutput(
    string Name,
    int Count,
    double? Mean,
    IReadOnlyList<double> QuantileLevels,
    IReadOnlyList<double> Quantiles,
    IReadOnlyList<double> BinEdges,
    IReadOnlyList<long> BinCounts,
    long NaNCount,
    double? PrimaryStability,
    double? BaselineStability);

internal sealed record DashboardColumn(string Tensor, int Column, long Count, double? Mean, double? StandardDeviation, long NaNCount);

internal sealed record DashboardEvent(DateTimeOffset Time, string Kind, long? Version, string Detail);

[JsonSerializable(typeof(DashboardSnapshot))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
