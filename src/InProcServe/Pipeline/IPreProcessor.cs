namespace InProcServe;

/// <summary>
/// Turns a caller's request into the model's input record: feature extraction, scaling, encoding. Added with
/// <c>.AddPreProcessor&lt;T&gt;()</c>, resolved from the services, and run on the caller's side, never on a lane.
/// </summary>
/// <remarks>
/// A synchronous pre-processor returns <c>new ValueTask&lt;TInput&gt;(input)</c>, which costs nothing. One instance
/// serves one model: the host rejects an instance that two models would share.
/// </remarks>
/// <typeparam name="TRequest">What callers send.</typeparam>
/// <typeparam name="TInput">The model's input record.</typeparam>
public interface IPreProcessor<TRequest, TInput>
{
    /// <summary>Builds the model input for <paramref name="request"/>.</summary>
    /// <param name="request">The caller's request.</param>
    /// <param name="cancellationToken">The call's token.</param>
    /// <returns>The model input.</returns>
    ValueTask<TInput> ProcessAsync(TRequest request, CancellationToken cancellationToken);
}
