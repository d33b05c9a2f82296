using Microsoft.Extensions.DependencyInjection;

namespace InProcServe;

/// <summary>
/// What the services hand out for an <see cref="IModel{TRequest, TResponse}"/> no model serves: construction throws
/// a message naming the call to add, instead of the container's "no service for type". Registered as an open
/// generic fallback; a registered model's closed registration always wins over it.
/// </summary>
internal sealed class MissingModel<TRequest, TResponse> : IModel<TRequest, TResponse>
{
    public MissingModel() => throw new InvalidOperationException(Message(null));

    public string Name => throw new InvalidOperationException(Message(null));

    public TResponse Predict(TRequest request, CancellationToken cancellationToken = default) => throw new InvalidOperationException(Message(null));

    public ValueTask<TResponse> PredictAsync(TRequest request, CancellationToken cancellationToken = default) => throw new InvalidOperationException(Message(null));

    public void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, CancellationToken cancellationToken = default) => throw new InvalidOperationException(Message(null));

    public IAsyncEnumerable<TResponse> PredictManyAsync(IAsyncEnumerable<TRequest> requests, CancellationToken cancellationToken = default) => throw new InvalidOperationException(Message(null));

    internal static string Message(object? key) =>
        $"No model serves IModel<{typeof(TRequest).Name}, {typeof(TResponse).Name}>{(key is null ? "" : $" under the name '{key}'")}: " +
        $"add services.AddModel<TDefinition>({(key is null ? "" : $"\"{key}\"")}) for a definition that derives from ModelDefinition<{typeof(TRequest).Name}, TInput, TOutput, {typeof(TResponse).Name}>" +
        (typeof(TRequest) == typeof(TResponse) ? "." : $" (or ModelDefinition<{typeof(TRequest).Name}, {typeof(TResponse).Name}> when they are the model's own input and output).");
}

/// <summary>The keyed counterpart of <see cref="MissingModel{TRequest, TResponse}"/>, for <c>[FromKeyedServices(name)]</c> with a name no model has.</summary>
internal sealed class MissingKeyedModel<TRequest, TResponse> : IModel<TRequest, TResponse>
{
    public MissingKeyedModel([ServiceKey] object? key) => throw new InvalidOperationException(MissingModel<TRequest, TResponse>.Message(key));

    public string Name => throw new InvalidOperationException(MissingModel<TRequest, TResponse>.Message(null));

    public TResponse Predict(TRequest request, CancellationToken cancellationToken = default) => throw new InvalidOperationException(MissingModel<TRequest, TResponse>.Message(null));

    public ValueTask<TResponse> PredictAsync(TRequest request, CancellationToken cancellationToken = default) => throw new InvalidOperationException(MissingModel<TRequest, TResponse>.Message(null));

    public void Predict(ReadOnlySpan<TRequest> requests, Span<TResponse> responses, CancellationToken cancellationToken = default) => throw new InvalidOperationException(MissingModel<TRequest, TResponse>.Message(null));

    public IAsyncEnumerable<TResponse> PredictManyAsync(IAsyncEnumerable<TRequest> requests, CancellationToken cancellationToken = default) => throw new InvalidOperationException(MissingModel<TRequest, TResponse>.Message(null));
}
