namespace InProcServe;

/// <summary>How a <see cref="SequenceModel"/> carries state from one call of a sequence to the next.</summary>
public sealed class SequenceOptions
{
    /// <summary>
    /// The state tensors: each model output (the key) feeds the model input (the value) of the sequence's next
    /// call, as Silero VAD's <c>stateN</c> feeds <c>state</c>. The first call of a sequence gets zeros, with every
    /// dynamic dimension of the input's shape taken as 1. Required; the pairs are checked against the model.
    /// </summary>
    public IDictionary<string, string> States { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How long a sequence may go without a call before its state is freed. Default: 5 minutes.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most sequences open at once; a call that would open one more fails. Default: 10,000.</summary>
    public int MaxSequences { get; set; } = 10_000;

    /// <summary>Throws one exception that names every invalid value, checked against <paramref name="session"/>.</summary>
    internal void Validate(ModelSession session)
    {
        var errors = new List<string>();
        if (States.Count == 0) errors.Add($"{nameof(States)} is empty; name at least one output → input pair.");
        foreach (var (output, input) in States)
        {
            var from = session.Outputs.FirstOrDefault(o => o.Name == output);
            var to = session.Inputs.FirstOrDefault(i => i.Name == input);
            if (from is null) errors.Add($"state output '{output}': the model has no such output (outputs: {string.Join(", ", session.Outputs)}).");
            if (to is null) errors.Add($"state input '{input}': the model has no such input (inputs: {string.Join(", ", session.Inputs)}).");
            if (from is null || to is null) continue;
            if (from.ElementType != to.ElementType || from.Shape.Length != to.Shape.Length ||
                from.Shape.Zip(to.Shape).Any(d => d.First >= 0 && d.Second >= 0 && d.First != d.Second))
            {
                errors.Add($"state {from} can't feed input {to}: the element types and shapes must match.");
            }
        }

        if (States.Values.Distinct().Count() != States.Count) errors.Add($"{nameof(States)} feeds one input from two outputs.");
        if (IdleTimeout <= TimeSpan.Zero) errors.Add($"{nameof(IdleTimeout)} is {IdleTimeout}; it must be positive.");
        if (MaxSequences < 1) errors.Add($"{nameof(MaxSequences)} is {MaxSequences}; it must be 1 or more.");
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Model '{session.Name}': invalid sequence options:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", errors)}", "options");
        }
    }
}
