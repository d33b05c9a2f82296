using InProcServe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds request validation to a model.</summary>
public static class ValidationBuilderExtensions
{
    /// <summary>
    /// Checks each single call's request before anything else after this point of the chain runs: a request the
    /// validator finds a problem with fails with an <see cref="ArgumentException"/> that says what, and never reaches
    /// the queue.
    /// </summary>
    /// <typeparam name="TRequest">The model's request type (checked when it loads).</typeparam>
    /// <param name="builder">The model's builder.</param>
    /// <param name="validate">Returns what is wrong with a request, or null when it is valid.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IModelBuilder AddValidation<TRequest>(this IModelBuilder builder, Func<TRequest, string?> validate)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(validate);
        return builder.AddMiddleware(new ValidationRegistration<TRequest>(validate));
    }
}
