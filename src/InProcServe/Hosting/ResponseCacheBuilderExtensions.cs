using InProcServe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds a response cache to a model.</summary>
public static class ResponseCacheBuilderExtensions
{
    /// <summary>
    /// Answers requests equal to recent ones (value equality for records) from memory, without running the model:
    /// middleware added at this point of the chain. Hits and misses are counted in <c>inprocserve.response_cache.lookups</c>.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="configure">Sets capacity and time to live. Default: null, the defaults of <see cref="ResponseCacheOptions"/>.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static IModelBuilder AddResponseCache(this IModelBuilder builder, Action<ResponseCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new ResponseCacheOptions();
        configure?.Invoke(options);
        var errors = new List<string>();
        if (options.Capacity < 1) errors.Add($"{nameof(options.Capacity)} is {options.Capacity}; it must be 1 or more.");
        if (options.TimeToLive is { } ttl && ttl <= TimeSpan.Zero) errors.Add($"{nameof(options.TimeToLive)} is {ttl}; it must be positive, or null to keep responses until evicted.");
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Model '{builder.Name}': invalid response cache options: {string.Join(" ", errors)}", nameof(configure));
        }

        return builder.AddMiddleware(new ResponseCacheRegistration(options));
    }
}
