using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace InProcServe.AspNetCore;

/// <summary>Maps typed JSON endpoints for models added with <c>services.AddModel&lt;TDefinition&gt;()</c>.</summary>
public static class ModelEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c> to the model: the body is a JSON request (or an array of them), the
    /// answer its JSON response (or an array, in the same order). Calls go through the model's queue, so concurrent
    /// requests are batched together. Errors are ProblemDetails: 400 for malformed JSON or an invalid request (the
    /// message names the field), 413 for a body over <see cref="ModelEndpointOptions.MaxRequestBodyBytes"/>, 429 with
    /// Retry-After when the queue is full, 503 when the model isn't serving, 504 when the deadline passes, 500 for
    /// anything else, with the details in the server log only.
    /// </summary>
    /// <remarks>
    /// JSON goes through the app's <c>Microsoft.AspNetCore.Http.Json.JsonOptions</c>: give it a source-generated
    /// context with the request and response types (<c>ConfigureHttpJsonOptions</c>) to run trimmed or AOT-compiled.
    /// </remarks>
    /// <typeparam name="TDefinition">The model's definition.</typeparam>
    /// <param name="endpoints">The app.</param>
    /// <param name="pattern">The route, such as <c>/fraud/score</c>.</param>
    /// <param name="name">The model's name, when it was added under one. Default: null, the definition's type name, as <c>AddModel</c> uses.</param>
    /// <returns>The endpoint, to add metadata, authorization or rate limiting.</returns>
    /// <exception cref="InvalidOperationException">No model of that name was added; the message says which call to add.</exception>
    public static IEndpointConventionBuilder MapModel<TDefinition>(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern, string? name = null)
        where TDefinition : ModelDefinition, new()
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        name ??= typeof(TDefinition).Name;
        if (endpoints.ServiceProvider.GetService<ModelCatalog>() is not { } catalog || !catalog.TryGetModel(name, out _))
        {
            throw new InvalidOperationException(
                $"MapModel<{typeof(TDefinition).Name}>(\"{pattern}\") needs a model named '{name}': add builder.Services.AddModel<{typeof(TDefinition).Name}>({(name == typeof(TDefinition).Name ? "" : $"\"{name}\"")}) before building the app.");
        }

        return new TDefinition().Accept(new Mapper(endpoints, pattern, name));
    }

    private sealed class Mapper(IEndpointRouteBuilder endpoints, string pattern, string name) : IModelDefinitionVisitor<IEndpointConventionBuilder>
    {
        public IEndpointConventionBuilder Visit<TRequest, TResponse>() =>
            endpoints.MapPost(pattern, new ModelEndpoint<TRequest, TResponse>(name).HandleAsync)
                .WithName($"InProcServe.{name}")
                .WithDisplayName($"Model '{name}'");
    }
}
