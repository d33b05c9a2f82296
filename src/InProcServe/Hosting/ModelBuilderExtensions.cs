using System.Diagnostics.CodeAnalysis;
using InProcServe;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Configures a model added with <c>AddModel</c>. Each method records its setting in the model's named
/// <see cref="ModelOptions"/>; configuration (<c>InProcServe:Models:&lt;Name&gt;</c>) is applied after them and wins.
/// </summary>
public static class ModelBuilderExtensions
{
    /// <summary>Sets any of the model's options.</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder Configure(this IModelBuilder builder, Action<ModelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(builder.Name, configure);
        return builder;
    }

    /// <summary>Loads the model from a file (<see cref="ModelOptions.Path"/>).</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="path">The .onnx file, relative to the current folder or absolute.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder FromFile(this IModelBuilder builder, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return builder.Configure(o =>
        {
            o.Path = path;
            o.Folder = null;
            o.ModelBytes = null;
        });
    }

    /// <summary>
    /// Loads the model from a version folder (<see cref="ModelOptions.Folder"/>): one numbered sub-folder per version,
    /// each holding model.onnx; the highest picked version answers calls.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="folder">The model's folder, relative to the current folder or absolute.</param>
    /// <param name="versions">Which versions to load (<see cref="ModelOptions.Versions"/>). Default: null, <see cref="VersionPolicy.Latest"/>.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder FromFolder(this IModelBuilder builder, string folder, VersionPolicy? versions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        return builder.Configure(o =>
        {
            o.Folder = folder;
            o.Versions = versions ?? VersionPolicy.Latest;
            o.Path = null;
            o.ModelBytes = null;
        });
    }

    /// <summary>
    /// Starts the model with a canary (<see cref="ModelOptions.Canary"/>): once its versions load, version
    /// <paramref name="version"/> takes <paramref name="percent"/> of calls and the primary the rest, as
    /// <see cref="HostedModel.SetCanaryAsync"/> would set it. The version policy must load the version besides the
    /// primary: <c>.FromFolder(folder, VersionPolicy.LatestN(2))</c>, say; the start fails otherwise.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="version">The canary's version number in the model's folder.</param>
    /// <param name="percent">Its share of calls, from 0 to 100.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is below 1, or <paramref name="percent"/> is not from 0 to 100.</exception>
    public static IModelBuilder WithCanary(this IModelBuilder builder, long version, double percent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        if (percent is not (>= 0 and <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "The canary's share is a percentage from 0 to 100.");
        return builder.Configure(o => o.Canary = new CanaryOptions { Version = version, Percent = percent });
    }

    /// <summary>
    /// Starts the model with a shadow (<see cref="ModelOptions.Shadow"/>): once its versions load, a copy of
    /// <paramref name="percent"/> of calls also goes to version <paramref name="version"/>, whose answers no caller
    /// gets, as <see cref="HostedModel.SetShadowAsync"/> would set it. The version policy must load the version
    /// besides the primary: <c>.FromFolder(folder, VersionPolicy.LatestN(2))</c>, say; the start fails otherwise.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="version">The shadow's version number in the model's folder.</param>
    /// <param name="percent">The share of calls copied to it, from 0 to 100.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is below 1, or <paramref name="percent"/> is not from 0 to 100.</exception>
    public static IModelBuilder WithShadow(this IModelBuilder builder, long version, double percent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        if (percent is not (>= 0 and <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "The shadow's share is a percentage from 0 to 100.");
        return builder.Configure(o => o.Shadow = new ShadowOptions { Version = version, Percent = percent });
    }

    /// <summary>
    /// Compares each call's response with its shadow copy's (<see cref="HostedModel.SetShadowAsync"/>), once the shadow
    /// answered: <paramref name="agree"/> says whether the two agree, and each disagreement is counted
    /// (<c>inprocserve.shadow.disagreements</c>); <paramref name="onCompared"/> sees the request and both responses, to
    /// log or diff them. The shadow's output goes through the model's post-processor first, as the caller's did;
    /// without this call, copies stop at the model's output and nothing is compared. Both run on the thread pool, off
    /// the caller's path and without its <see cref="ExecutionContext"/> (no AsyncLocal values of the call, such as its
    /// HttpContext), once per copy, concurrently; what they throw is logged and counts the copy as an error. The
    /// request and the caller's response are read after the call returned: don't change them (or an array a model
    /// input shares with the caller) once the call is done. Changing the shadow from <paramref name="onCompared"/>
    /// waits for the copies in flight, its own among them, and never completes.
    /// </summary>
    /// <typeparam name="TRequest">The model's request type; the model fails to load if it takes another.</typeparam>
    /// <typeparam name="TResponse">The model's response type; the model fails to load if it gives another.</typeparam>
    /// <param name="builder">The model's builder.</param>
    /// <param name="agree">Whether the caller's response (first) and the shadow's (second) agree. Default: null, nothing counted, and <see cref="ShadowComparison{TRequest, TResponse}.Agreed"/> is null.</param>
    /// <param name="onCompared">Sees each call beside its shadow copy. Default: null.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentException">Both <paramref name="agree"/> and <paramref name="onCompared"/> are null.</exception>
    public static IModelBuilder CompareShadow<TRequest, TResponse>(this IModelBuilder builder, Func<TResponse, TResponse, bool>? agree = null, Action<ShadowComparison<TRequest, TResponse>>? onCompared = null)
    {
        if (agree is null && onCompared is null) throw new ArgumentException("CompareShadow needs a comparer (agree), a callback (onCompared), or both.", nameof(agree));
        return builder.Configure(o => o.ShadowComparer = new ShadowComparer<TRequest, TResponse>(agree, onCompared));
    }

    /// <summary>
    /// Monitors the model's predictions (<see cref="ModelOptions.Monitoring"/>): <paramref name="sampleRate"/> of the rows
    /// each version answers feed its output distributions (<see cref="MonitorOutput"/>), a summary of its numeric input
    /// columns, and its drift from the primary and from <paramref name="baseline"/>. Read them with
    /// <see cref="HostedModel.GetMonitoringReport"/> or as <c>inprocserve.monitor.*</c> metrics. Configuration
    /// (<c>Monitoring:Enabled</c>, <c>:SampleRate</c>, <c>:WindowSize</c>, <c>:Baseline</c>) wins.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="sampleRate">The share of rows sampled, above 0 and at most 1. Default: 0.1.</param>
    /// <param name="baseline">A JSON baseline file (<see cref="MonitoringBaseline"/>). Default: null, no baseline.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleRate"/> is not above 0 and at most 1.</exception>
    public static IModelBuilder AddMonitoring(this IModelBuilder builder, double sampleRate = 0.1, string? baseline = null)
    {
        if (sampleRate is not (> 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "The sample rate is a share above 0 and at most 1.");
        return builder.Configure(o =>
        {
            o.Monitoring.Enabled = true;
            o.Monitoring.SampleRate = sampleRate;
            o.Monitoring.Baseline = baseline;
        });
    }

    /// <summary>
    /// Monitors one scalar output of the model (and turns monitoring on, at its default sample rate unless
    /// <see cref="AddMonitoring"/> set one): its distribution per version over a sliding window (quantiles and a
    /// histogram), and its drift. <paramref name="value"/> reads it from the model's output record, before the
    /// post-processor; it runs on sampled rows only, on the caller's side, and a row it throws for is left out.
    /// </summary>
    /// <typeparam name="TOutput">The model's output record (the model fails to load if it has another).</typeparam>
    /// <param name="builder">The model's builder.</param>
    /// <param name="name">The output's name in reports, metrics and the baseline file, such as "probability".</param>
    /// <param name="value">Reads the value from an output record.</param>
    /// <param name="min">The histogram's lower edge. Default: 0.</param>
    /// <param name="max">The histogram's upper edge. Default: 1.</param>
    /// <param name="bins">The histogram's bins, evenly spaced from <paramref name="min"/> to <paramref name="max"/>. Default: 10. A baseline that describes the output brings its own.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty, <paramref name="max"/> is not above <paramref name="min"/>, or <paramref name="bins"/> is not from 1 to 1000.</exception>
    public static IModelBuilder MonitorOutput<TOutput>(this IModelBuilder builder, string name, Func<TOutput, double> value, double min = 0, double max = 1, int bins = 10)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        if (!(max > min) || !double.IsFinite(min) || !double.IsFinite(max)) throw new ArgumentException($"The histogram of '{name}' runs from {min} to {max}; max must be above min, both finite.", nameof(max));
        if (bins is < 1 or > 1000) throw new ArgumentOutOfRangeException(nameof(bins), bins, "A histogram has from 1 to 1000 bins.");
        return builder.Configure(o =>
        {
            o.Monitoring.Enabled = true;
            o.Monitoring.Outputs.Add(new MonitoredOutput(name, value, typeof(TOutput), min, max, bins));
        });
    }

    /// <summary>
    /// Reloads the model when its file, or its version folder, changes (<see cref="ModelOptions.WatchForChanges"/>):
    /// the new version is loaded, checked against the contract and warmed while the old one serves, then swapped in.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="quietPeriod">How long the files must hold still first (<see cref="ModelOptions.WatchQuietPeriod"/>). Default: null, 2 seconds.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder WatchForChanges(this IModelBuilder builder, TimeSpan? quietPeriod = null) => builder.Configure(o =>
    {
        o.WatchForChanges = true;
        if (quietPeriod is { } quiet) o.WatchQuietPeriod = quiet;
    });

    /// <summary>
    /// Makes canary routing sticky: calls whose <paramref name="key"/> is the same (a user, a device) always go to the
    /// same version (<see cref="HostedModel.SetCanaryAsync"/>). A null key routes that call at random. Bulk calls route
    /// per batch, at random.
    /// </summary>
    /// <typeparam name="TRequest">The model's request type; the model fails to load if it takes another.</typeparam>
    /// <param name="builder">The model's builder.</param>
    /// <param name="key">The call's routing key; called on the caller's thread, only while a canary is set.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder RouteCanaryBy<TRequest>(this IModelBuilder builder, Func<TRequest, string?> key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return builder.Configure(o => o.CanaryKey = key);
    }

    /// <summary>Loads the model from bytes produced when it loads (<see cref="ModelOptions.ModelBytes"/>): an embedded resource, a download.</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="bytes">Produces the model's bytes; called once, when the model loads.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder FromBytes(this IModelBuilder builder, Func<IServiceProvider, ReadOnlyMemory<byte>> bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return builder.Configure(o =>
        {
            o.ModelBytes = bytes;
            o.Path = null;
            o.Folder = null;
        });
    }

    /// <summary>Sets how the model's session is created (<see cref="ModelOptions.Session"/>): threads, arena, weight sharing.</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="configure">Changes the session options.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder ConfigureSession(this IModelBuilder builder, Action<ModelSessionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.Configure(o => configure(o.Session));
    }

    /// <summary>Sets how queued calls are batched (<see cref="ModelOptions.Batching"/>).</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="configure">Changes the batching options.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder ConfigureBatching(this IModelBuilder builder, Action<BatchingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.Configure(o => configure(o.Batching));
    }

    /// <summary>Runs the model's queued batches on the lane named <paramref name="lane"/> (<see cref="ModelOptions.Lane"/>); configure it with <c>services.ConfigureLane</c>.</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="lane">The lane's name. Default lane: "cpu".</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder UseLane(this IModelBuilder builder, string lane)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lane);
        return builder.Configure(o => o.Lane = lane);
    }

    /// <summary>Runs the model on <paramref name="executionProvider"/> (<see cref="ModelSessionOptions.ExecutionProvider"/>), such as <see cref="ExecutionProvider.Cuda"/>.</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="executionProvider">The execution provider.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder UseExecutionProvider(this IModelBuilder builder, ExecutionProvider executionProvider)
    {
        ArgumentNullException.ThrowIfNull(executionProvider);
        return builder.Configure(o => o.Session.ExecutionProvider = executionProvider);
    }

    /// <summary>Lets the app run without the model (<see cref="ModelOptions.Optional"/>): a failed load is logged and reported Unhealthy instead of failing the start.</summary>
    /// <param name="builder">The model's builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder AsOptional(this IModelBuilder builder) => builder.Configure(o => o.Optional = true);

    /// <summary>Sets the batch sizes the model runs once each while it loads (<see cref="ModelOptions.WarmUpBatchSizes"/>); none turns warm-up off.</summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="batchSizes">The batch sizes. Default warm-up, without this call: 1 and the maximum batch size.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder WarmUp(this IModelBuilder builder, params int[] batchSizes)
    {
        ArgumentNullException.ThrowIfNull(batchSizes);
        return builder.Configure(o => o.WarmUpBatchSizes = [.. batchSizes]);
    }

    /// <summary>
    /// Turns requests into model inputs with <typeparamref name="TPreProcessor"/>, an
    /// <see cref="IPreProcessor{TRequest, TInput}"/> of the model's types (checked when it loads), resolved from the
    /// services. Registers it as transient unless already registered, so each model gets its own instance.
    /// </summary>
    /// <typeparam name="TPreProcessor">The pre-processor.</typeparam>
    /// <param name="builder">The model's builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder AddPreProcessor<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TPreProcessor>(this IModelBuilder builder)
        where TPreProcessor : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddTransient<TPreProcessor>();
        return builder.Configure(o => o.PreProcessor = HandlerRegistration.FromServices<TPreProcessor>());
    }

    /// <summary>
    /// Turns model outputs into responses with <typeparamref name="TPostProcessor"/>, an
    /// <see cref="IPostProcessor{TOutput, TResponse}"/> of the model's types (checked when it loads), resolved from the
    /// services. Registers it as transient unless already registered, so each model gets its own instance.
    /// </summary>
    /// <typeparam name="TPostProcessor">The post-processor.</typeparam>
    /// <param name="builder">The model's builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder AddPostProcessor<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TPostProcessor>(this IModelBuilder builder)
        where TPostProcessor : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddTransient<TPostProcessor>();
        return builder.Configure(o => o.PostProcessor = HandlerRegistration.FromServices<TPostProcessor>());
    }

    /// <summary>
    /// Wraps the model's single calls in <typeparamref name="TMiddleware"/>, an <see cref="IModelMiddleware{TRequest, TResponse}"/>
    /// of the model's types (checked when it loads), resolved from the services; the first added is the outermost.
    /// Registers it as transient unless already registered, so each model gets its own instance.
    /// </summary>
    /// <typeparam name="TMiddleware">The middleware.</typeparam>
    /// <param name="builder">The model's builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder AddMiddleware<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TMiddleware>(this IModelBuilder builder)
        where TMiddleware : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddTransient<TMiddleware>();
        return builder.AddMiddleware(new ServiceMiddlewareRegistration<TMiddleware>());
    }

    /// <summary>
    /// Adds a health check for the model, named <c>inprocserve:&lt;Name&gt;</c>: Healthy when loaded and warmed,
    /// Degraded when its queue is at least 80% full, Unhealthy before it is ready or when its load failed.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="tags">The check's tags, to filter by in health endpoints. Default: null, which means "ready".</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder AddHealthCheck(this IModelBuilder builder, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = builder.Name;
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"inprocserve:{name}",
            provider => new ModelHealthCheck(provider.GetRequiredService<ModelCatalog>(), name),
            failureStatus: HealthStatus.Unhealthy,
            tags ?? ["ready"]));
        return builder;
    }

    /// <summary>
    /// Adds one health check, named <c>inprocserve:untyped</c>, over the models served with no C# contract (from
    /// configuration and the model repository): Healthy when every one serves; Degraded when an optional one (a
    /// repository model, unless <c>InProcServe:ModelRepositoryStrict</c>) failed to load, naming each and why, while the
    /// others serve; Unhealthy when a required one failed.
    /// </summary>
    /// <param name="builder">The app's health checks.</param>
    /// <param name="tags">The check's tags, to filter by in health endpoints. Default: null, which means "ready".</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHealthChecksBuilder AddUntypedModelsCheck(this IHealthChecksBuilder builder, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddInProcServe();
        return builder.Add(new HealthCheckRegistration(
            "inprocserve:untyped",
            provider => new UntypedModelsHealthCheck(provider.GetRequiredService<ModelCatalog>()),
            failureStatus: HealthStatus.Unhealthy,
            tags ?? ["ready"]));
    }

    /// <summary>Appends middleware the model creates for its own types when it loads.</summary>
    internal static IModelBuilder AddMiddleware(this IModelBuilder builder, MiddlewareRegistration middleware) =>
        builder.Configure(o => o.Middleware.Add(middleware));
}
