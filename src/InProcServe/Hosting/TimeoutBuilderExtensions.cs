using InProcServe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds a per-call timeout to a model.</summary>
public static class TimeoutBuilderExtensions
{
    /// <summary>
    /// Fails each single call that takes longer than <paramref name="timeout"/> with a <see cref="TimeoutException"/>,
    /// counting the handlers and middleware after this point of the chain; a timed-out queued request leaves the
    /// queue, a direct one's run is terminated.
    /// </summary>
    /// <param name="builder">The model's builder.</param>
    /// <param name="timeout">The most a call may take; positive.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder AddTimeout(this IModelBuilder builder, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return builder.AddMiddleware(new TimeoutRegistration(timeout));
    }
}
