using InProcServe.Tensors;

namespace InProcServe;

/// <summary>One declared tensor matched to a model input or output.</summary>
/// <param name="Declaration">What the contract declares.</param>
/// <param name="ModelIndex">The tensor's index among the model's inputs or outputs.</param>
/// <param name="RowDimensions">The dimensions after the batch dimension that ONNX Runtime is given (the model's rank, the contract's sizes).</param>
internal sealed record BoundTensor(TensorDeclaration Declaration, int ModelIndex, long[] RowDimensions);

/// <summary>
/// A contract's declared tensors checked against a model's signature (a local session's, or the metadata of a remote
/// model). Binding fails with one message that lists every difference and the model's actual signature.
/// </summary>
internal sealed class ContractBinding
{
    private ContractBinding(IBatchTarget target, BoundTensor[] inputs, BoundTensor[] outputs, int? fixedBatchSize)
    {
        Target = target;
        Inputs = inputs;
        Outputs = outputs;
        FixedBatchSize = fixedBatchSize;
    }

    internal IBatchTarget Target { get; }

    internal IReadOnlyList<BoundTensor> Inputs { get; }

    internal IReadOnlyList<BoundTensor> Outputs { get; }

    /// <summary>Set when the model fixes its batch dimension at 1: batches then hold one row.</summary>
    internal int? FixedBatchSize { get; }

    /// <exception cref="InvalidOperationException">The contract does not fit the model; the message lists every difference.</exception>
    internal static ContractBinding Bind(IBatchTarget target, string contract, IReadOnlyList<TensorDeclaration> inputs, IReadOnlyList<TensorDeclaration> outputs)
    {
        var problems = new List<string>();
        var fixedBatch = new HashSet<long>();
        var boundInputs = BindAll(inputs, target.Inputs, "input", problems, fixedBatch);
        var boundOutputs = BindAll(outputs, target.Outputs, "output", problems, fixedBatch);

        var filled = boundInputs.Select(b => b.ModelIndex).ToHashSet();
        for (var i = 0; i < target.Inputs.Count; i++)
        {
            if (!filled.Contains(i) && !inputs.Any(d => d.Name == target.Inputs[i].Name))
            {
                problems.Add($"model input {target.Inputs[i]} is filled by no member of the contract; every model input must be.");
            }
        }

        int? fixedBatchSize = null;
        foreach (var size in fixedBatch)
        {
            if (size == 1) fixedBatchSize = 1;
            else problems.Add($"the model fixes the batch dimension at {size}; a contract needs it dynamic or 1.");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"Model '{target.Name}'{target.Origin} does not fit the contract {contract}:{Environment.NewLine}" +
                string.Concat(problems.Select(p => $"  - {p}{Environment.NewLine}")) +
                $"The model's signature:{Environment.NewLine}" +
                $"  inputs:  {string.Join(", ", target.Inputs)}{Environment.NewLine}" +
                $"  outputs: {string.Join(", ", target.Outputs)}");
        }

        return new ContractBinding(target, boundInputs, boundOutputs, fixedBatchSize);
    }

    /// <summary>The error for a runner or batcher of a remote model asked for its local session.</summary>
    internal static InvalidOperationException NoSession(IBatchTarget target) =>
        new($"Model '{target.Name}'{target.Origin} runs remotely and has no local ModelSession.");

    private static BoundTensor[] BindAll(IReadOnlyList<TensorDeclaration> declarations, IReadOnlyList<TensorInfo> model, string role, List<string> problems, HashSet<long> fixedBatch)
    {
        var bound = new List<BoundTensor>();
        foreach (var declaration in declarations)
        {
            var index = -1;
            for (var i = 0; i < model.Count; i++)
            {
                if (model[i].Name == declaration.Name) index = i;
            }

            if (index < 0)
            {
                problems.Add($"{role} '{declaration.Name}' (filled by {declaration.Members}): the model has no such {role}.");
                continue;
            }

            if (Check(declaration, model[index], out var rowDimensions) is { } problem)
            {
                problems.Add($"{role} '{declaration.Name}': the contract has {TensorElement.Name(declaration.ElementType)}[N{string.Concat(declaration.RowShape.Select(d => "," + d))}] " +
                             $"({declaration.Members}), the model {model[index].TypeAndShape}: {problem}.");
                continue;
            }

            if (model[index].Shape[0] >= 0)
            {
                fixedBatch.Add(model[index].Shape[0]);
            }

            bound.Add(new BoundTensor(declaration, index, rowDimensions));
        }

        return bound.ToArray();
    }

    /// <summary>Returns what is wrong, or null and the row dimensions ONNX Runtime will be given.</summary>
    private static string? Check(TensorDeclaration declaration, TensorInfo model, out long[] rowDimensions)
    {
        rowDimensions = [];
        if (model.ElementType != declaration.ElementType)
        {
            return $"the element type differs";
        }

        if (model.Shape.Length == 0)
        {
            return "the model's tensor has no batch dimension";
        }

        var modelRow = model.Shape.AsSpan()[1..];
        var row = declaration.RowShape.AsSpan();
        if (row.IsEmpty)
        {
            // A scalar member fits [N] or [N,1].
            if (modelRow.IsEmpty) return null;
            if (modelRow is [1 or -1])
            {
                rowDimensions = [1];
                return null;
            }

            return "a scalar member needs [N] or [N,1]";
        }

        if (modelRow.Length != row.Length)
        {
            return $"the rank differs ({row.Length + 1} against {model.Shape.Length})";
        }

        rowDimensions = new long[row.Length];
        for (var d = 0; d < row.Length; d++)
        {
            if (modelRow[d] >= 0 && modelRow[d] != row[d])
            {
                return $"dimension {d + 1} differs ({row[d]} against {modelRow[d]})";
            }

            rowDimensions[d] = row[d];
        }

        return null;
    }
}
