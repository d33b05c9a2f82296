namespace InProcServe;

/// <summary>
/// Turns the model's output record into the caller's response: thresholds, labels, decisions. Added with
/// <c>.AddPostProcessor&lt;T&gt;()</c>, resolved from the services, and run on the caller's side, never on a lane.
/// </summary>
/// <remarks>
/// A synchronous post-processor returns <c>new ValueTask&lt;TResponse&gt;(response)</c>, which costs nothing. One
/// instance serves one model: the host rejects an instance that two models would share.
/// </remarks>
/// <typeparam name="TOutput">The model's output record.</typeparam>
/// <typeparam name="TResponse">What callers get.</typeparam>
public interface IPostProcessor<TOutput, TResponse>
{
    /// <summary>Builds the response from the model's <paramref name="output"/>.</summary>
    /// <param name="output">The model's output for one request.</param>
    /// <param name="cancellationToken">The call's token.</param>
    /// <returns>The response.</returns>
    ValueTask<TResponse> ProcessAsync(TOutput output, CancellationToken cancellationToken);
}
