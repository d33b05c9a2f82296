using System.Globalization;
using InProcServe.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.Tests.Hosting;

/// <summary><see cref="HostedModel.History"/>: what happened to a model's versions, in order, failures included.</summary>
[Collection(HostingCollection.Name)]
public sealed class ModelHistoryTests
{
    [Fact]
    public async Task Loads_reloads_and_canary_and_shadow_changes_are_remembered_in_order()
    {
        using var folder = new TemporaryFolder();
        AddVersion(folder, 1, File.ReadAllBytes(TestModels.Path("fraud")));
        AddVersion(folder, 2, File.ReadAllBytes(TestModels.Path("fraud_retrained")));
        var builder = TestHost.Builder();
        builder.Services.AddModel<UnplacedFraud>().FromFolder(folder.Path, VersionPolicy.LatestN(2));
        using var host = builder.Build();
        await host.StartAsync();
        var model = host.Services.GetRequiredService<ModelCatalog>()["UnplacedFraud"];

        await model.SetCanaryAsync(1, 10);
        await model.RollBackCanaryAsync();
        await model.SetShadowAsync(1, 5);
        await model.StopShadowAsync();
        AddVersion(folder, 3, new byte[4096]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => model.ReloadAsync());

        Assert.Equal(
            [
                (ModelEventKind.Loaded, 2L, "versions 2, 1 loaded; version 2 is the primary"),
                (ModelEventKind.CanarySet, 2L, "version 1 takes 10% of calls"),
                (ModelEventKind.CanaryRolledBack, 2L, "canary version 1 rolled back"),
                (ModelEventKind.ShadowSet, 2L, "version 1 gets a copy of 5% of calls"),
                (ModelEventKind.ShadowStopped, 2L, "shadow version 1 stopped"),
            ],
            model.History.Take(5).Select(e => (e.Kind, e.Version!.Value, e.Detail)));
        var failed = model.History[^1];
        Assert.Equal(ModelEventKind.ReloadFailed, failed.Kind);
        Assert.Equal(2, failed.Version);
        Assert.Equal(model.ReloadError!.Message, failed.Detail);
        Assert.Equal(6, model.History.Count);
        Assert.True(model.History.Zip(model.History.Skip(1)).All(p => p.First.Time <= p.Second.Time));
        await host.StopAsync();
    }

    private static void AddVersion(TemporaryFolder folder, int version, byte[] model)
    {
        var target = Directory.CreateDirectory(Path.Combine(folder.Path, version.ToString(CultureInfo.InvariantCulture))).FullName;
        File.WriteAllBytes(Path.Combine(target, VersionFolder.ModelFileName), model);
    }
}
