using Microsoft.Extensions.DependencyInjection;

namespace InProcServe;

/// <summary>A cascade added with <c>AddCascade</c>: recorded so that no model or other cascade takes its name (its service key).</summary>
internal sealed record CascadeRegistration(string Name)
{
    /// <exception cref="InvalidOperationException">A model or a cascade is already named <paramref name="name"/>.</exception>
    internal static void ThrowIfTaken(IServiceCollection services, string name)
    {
        foreach (var descriptor in services)
        {
            var taken = descriptor.ImplementationInstance switch
            {
                CascadeRegistration cascade when cascade.Name == name => "a cascade",
                ModelRegistration model when model.Name == name => $"the model {model.Definition.GetType().Name}",
                _ => null,
            };
            if (taken is not null)
            {
                throw new InvalidOperationException($"The name '{name}' is already taken by {taken}: models and cascades share one set of names (their service keys); choose another.");
            }
        }
    }
}
