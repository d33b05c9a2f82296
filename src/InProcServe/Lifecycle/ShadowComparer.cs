namespace InProcServe;

/// <summary>
/// What <c>CompareShadow</c> set for one model's contract: whether two responses agree (the disagreements are
/// counted), and the callback that sees each comparison. At least one is set.
/// </summary>
/// <param name="Agree">Says whether the caller's response and the shadow's agree; null to count nothing.</param>
/// <param name="OnCompared">Sees each call beside its shadow copy; null for none.</param>
internal sealed record ShadowComparer<TRequest, TResponse>(Func<TResponse, TResponse, bool>? Agree, Action<ShadowComparison<TRequest, TResponse>>? OnCompared);
