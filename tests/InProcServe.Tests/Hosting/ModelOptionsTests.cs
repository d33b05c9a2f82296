using InProcServe.Tests.Contracts;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using FraudScore = InProcServe.Tests.Contracts.FraudScore;

namespace InProcServe.Tests.Hosting;

/// <summary>Model options: definition defaults, builder calls, configuration over both, and validation on start.</summary>
[Collection(HostingCollection.Name)]
public sealed class ModelOptionsTests
{
    [Fact]
    public void Configuration_overrides_the_builder_which_overrides_the_definition()
    {
        var builder = TestHost.Builder(
            ("InProcServe:Models:PlainFraud:Batching:MaxBatchSize", "16"),
            ("InProcServe:Models:PlainFraud:Batching:MaxDelay", "00:00:00.002"),
            ("InProcServe:Models:PlainFraud:Batching:FullMode", "reject"),
            ("InProcServe:Models:PlainFraud:Session:IntraOpThreads", "2"),
            ("InProcServe:Models:PlainFraud:Session:ShareWeights", "true"),
            ("InProcServe:Models:PlainFraud:Optional", "true"),
            ("InProcServe:Models:PlainFraud:WarmUpBatchSizes:0", "1"),
            ("InProcServe:Models:PlainFraud:WarmUpBatchSizes:1", "4"),
            ("InProcServe:Lanes:gpu0:Workers", "1"),
            ("InProcServe:Lanes:gpu0:IdleSpin", "00:00:00"));
        builder.Services.AddModel<PlainFraud>().ConfigureBatching(b =>
        {
            b.MaxBatchSize = 8;
            b.QueueCapacity = 100;
        }).UseLane("gpu0");
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptionsMonitor<ModelOptions>>().Get("PlainFraud");
        var lane = host.Services.GetRequiredService<IOptionsMonitor<LaneOptions>>().Get("gpu0");

        Assert.Equal("PlainFraud", options.Name);
        Assert.Equal(TestModels.Path("fraud"), options.Path);
        Assert.Equal(16, options.Batching.MaxBatchSize);
        Assert.Equal(100, options.Batching.QueueCapacity);
        Assert.Equal(TimeSpan.FromMilliseconds(2), options.Batching.MaxDelay);
        Assert.Equal(QueueFullMode.Reject, options.Batching.FullMode);
        Assert.Equal(2, options.Session.IntraOpThreads);
        Assert.True(options.Session.ShareWeights);
        Assert.True(options.Optional);
        Assert.Equal([1, 4], options.WarmUpBatchSizes);
        Assert.Equal("gpu0", options.Lane);
        Assert.Equal(1, lane.Workers);
        Assert.Equal(TimeSpan.Zero, lane.IdleSpin);
        Assert.Equal(ExecutionLane.DefaultIdleSpin, host.Services.GetRequiredService<IOptionsMonitor<LaneOptions>>().Get("cpu").IdleSpin);
    }

    [Theory]
    [InlineData("fast", "InProcServe:Lanes:cpu:IdleSpin is 'fast'; it must be a time span such as 00:00:00.00005 (0 turns spinning off).")]
    [InlineData("00:00:01", "Lane 'cpu': IdleSpin is 00:00:01; it must be from 0 to 10 ms.")]
    public async Task A_bad_lane_idle_spin_fails_start_naming_the_value(string value, string message)
    {
        var builder = TestHost.Builder(("InProcServe:Lanes:cpu:IdleSpin", value));
        builder.Services.AddModel<PlainFraud>();
        using var host = builder.Build();

        var error = await Record.ExceptionAsync(() => host.StartAsync());

        Assert.NotNull(error);
        Assert.Contains(message, error.ToString());
    }

    [Fact]
    public async Task A_model_whose_only_source_is_configuration_loads_from_it()
    {
        var builder = TestHost.Builder(("InProcServe:Models:UnplacedFraud:Path", TestModels.Path("fraud")));
        builder.Services.AddModel<UnplacedFraud>();
        using var host = builder.Build();
        await host.StartAsync();

        Assert.Equal(3, host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"].Version);
        await host.StopAsync();
    }

    [Fact]
    public async Task Bytes_from_a_delegate_are_a_model_source()
    {
        var builder = TestHost.Builder();
        builder.Services.AddModel<UnplacedFraud>().FromBytes(_ => File.ReadAllBytes(TestModels.Path("fraud")));
        using var host = builder.Build();
        await host.StartAsync();

        var score = host.Services.GetRequiredService<IModel<FraudFeatures, FraudScore>>().Predict(new FraudFeatures(PaymentFeatures.Features(new Payment(1, 2))));

        Assert.Equal(FraudReference.Probability(new Payment(1, 2)), score.Probability, 1e-5f);
        await host.StopAsync();
    }

    [Fact]
    public async Task Start_fails_with_one_message_naming_the_model_and_every_bad_value()
    {
        var builder = TestHost.Builder(
            ("InProcServe:Models:UnplacedFraud:Batching:MaxBatchSize", "0"),
            ("InProcServe:Models:UnplacedFraud:Batching:MaxDelay", "soon"),
            ("InProcServe:Models:UnplacedFraud:Batching:MaxBatch", "8"),
            ("InProcServe:Models:UnplacedFraud:Session:IntraOpThreads", "-1"),
            ("InProcServe:Models:UnplacedFraud:WarmUpBatchSizes", "1, x"));
        builder.Services.AddModel<UnplacedFraud>();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal(
            """
            Model 'UnplacedFraud': invalid options (code, or configuration section InProcServe:Models:UnplacedFraud):
              - InProcServe:Models:UnplacedFraud:Batching:MaxBatch is not a setting; the settings here are MaxBatchSize, MaxDelay, QueueCapacity, FullMode, DefaultTimeout, Priority.
              - InProcServe:Models:UnplacedFraud:Batching:MaxDelay is 'soon'; it must be a time span such as 00:00:00.002.
              - InProcServe:Models:UnplacedFraud:WarmUpBatchSizes holds 'x'; it must hold whole numbers.
              - no model source: set InProcServe:Models:UnplacedFraud:Path (a file), :Folder (a version folder) or :Remote:Url (a server) in configuration, or call .FromFile(path), .FromFolder(folder), .FromBytes(…) or .UseRemote(url) on the builder.
              - Session.IntraOpThreads is -1; it must be 0 (default) or more.
              - Batching.MaxBatchSize is 0; it must be 1 or more.
            """.ReplaceLineEndings(),
            error.Message);
    }
}
