namespace InProcServe.Tests.TestSupport;

/// <summary>
/// The hosting tests: they start hosts whose lanes and handlers keep both cores busy, which stretches the timing of
/// the batcher tests that measure what happens during a run of a few milliseconds. They run alone, after the rest.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostingCollection
{
    public const string Name = "Hosting";
}
