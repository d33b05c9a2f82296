using System.Diagnostics;

namespace InProcServe;

/// <summary>
/// A loaded version as the call pipeline serves it: its session (or remote model) on the model's lane, where untyped calls run through
/// the lane's tensor queue, and the measurements of its batches. A model served from configuration alone, with no
/// contract, has versions of exactly this kind; a typed model's add the contract's runner and batcher
/// (<see cref="ContractVersion{TInput, TOutput}"/>).
/// </summary>
internal class PipelineVersion : ServingVersion, IBatchObserver
{
    private readonly InProcServeMetrics metrics;
    private readonly KeyValuePair<string, object?> modelTag;
    private string[]? outputNames;

    internal PipelineVersion(long version, IBatchTarget target, ExecutionLane lane, BatchingOptions batching, InProcServeMetrics metrics, KeyValuePair<string, object?> modelTag)
        : base(version, target)
    {
        Lane = lane;
        Batching = batching;
        this.metrics = metrics;
        this.modelTag = modelTag;
    }

    /// <summary>The lane its batches run on.</summary>
    internal ExecutionLane Lane { get; }

    /// <summary>The model's batching options: untyped calls are joined up to its MaxBatchSize rows, waiting up to its MaxDelay.</summary>
    internal BatchingOptions Batching { get; }

    /// <summary>Every output's name, in the model's order: what an untyped call that names none computes (made once, not per call).</summary>
    internal string[] OutputNames => outputNames ??= [.. Target.Outputs.Select(o => o.Name)];

    internal override int QueueCapacity => TensorQueue.Capacity;

    internal override int QueueLength => Session is { } session ? Lane.UntypedQueueOf(session)?.Length ?? 0 : 0;

    internal override int MaxBatchSize => Batching.MaxBatchSize;

    internal override VersionMonitor? Monitor => null;

    bool IBatchObserver.TimesQueue => metrics.QueueDuration.Enabled;

    void IBatchObserver.Dequeued(long elapsed) =>
        metrics.QueueDuration.Record((double)elapsed / Stopwatch.Frequency, modelTag, Tag);

    void IBatchObserver.BatchRan(int rows, long elapsed)
    {
        metrics.InferenceDuration.Record((double)elapsed / Stopwatch.Frequency, modelTag, Tag);
        metrics.BatchSize.Record(rows, modelTag, Tag);
    }

    /// <summary>Untyped calls hold leases while they wait on the lane, so retiring waits for them: nothing to stop here.</summary>
    private protected override ValueTask StopQueueAsync() => ValueTask.CompletedTask;

    private protected override void DisposeRunner()
    {
    }
}

/// <summary>A version serving one contract's input and output records: its runner for direct and bulk calls, its batcher for queued ones.</summary>
internal sealed class ContractVersion<TInput, TOutput> : PipelineVersion
    where TInput : IModelInput<TInput>
    where TOutput : IModelOutput<TOutput>
{
    internal ContractVersion(long version, IBatchTarget target, ExecutionLane lane, BatchingOptions batching, ModelRunner<TInput, TOutput> runner, ModelBatcher<TInput, TOutput> batcher, InProcServeMetrics metrics, KeyValuePair<string, object?> modelTag, VersionMonitor<TInput, TOutput>? monitor)
        : base(version, target, lane, batching, metrics, modelTag)
    {
        Runner = runner;
        Batcher = batcher;
        TypedMonitor = monitor;
        batcher.Observer = this;
    }

    internal ModelRunner<TInput, TOutput> Runner { get; }

    internal ModelBatcher<TInput, TOutput> Batcher { get; }

    /// <summary>Sees the rows this version answers, when the model is monitored; callers hold a lease while they call it.</summary>
    internal VersionMonitor<TInput, TOutput>? TypedMonitor { get; }

    internal override int QueueCapacity => Batcher.QueueCapacity;

    internal override int QueueLength => Batcher.QueueLength + base.QueueLength;

    internal override int MaxBatchSize => Runner.MaxBatchSize;

    internal override VersionMonitor? Monitor => TypedMonitor;

    private protected override ValueTask StopQueueAsync() => Batcher.DisposeAsync();

    private protected override void DisposeRunner()
    {
        Runner.Dispose();
        TypedMonitor?.Dispose();
    }
}
