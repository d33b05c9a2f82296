using System.Collections.Immutable;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>
/// One tensor a model contract reads or writes, as the source generator declares it: checked against the
/// model's signature when the contract is bound to a model.
/// </summary>
/// <param name="Name">The model input or output name.</param>
/// <param name="ElementType">The element type.</param>
/// <param name="RowShape">
/// The shape of one row, without the batch dimension: empty for a scalar member (the model may declare
/// [N] or [N,1]), [K] for columns or a vector, the declared shape for a per-row tensor.
/// </param>
/// <param name="Members">The members that fill the tensor, for messages ("Amount, Merchant, …").</param>
public sealed record TensorDeclaration(string Name, TensorElementType ElementType, ImmutableArray<int> RowShape, string Members)
{
    /// <summary>The elements in one row: the product of <see cref="RowShape"/> (1 for a scalar).</summary>
    public int RowLength { get; } = RowShape.Aggregate(1, (product, dimension) => product * dimension);

    /// <summary>The type and shape as messages show them, with N for the batch dimension: "float32[N,30]".</summary>
    public override string ToString() =>
        $"{Name}: {TensorElement.Name(ElementType)}[N{string.Concat(RowShape.Select(d => "," + d))}] ({Members})";
}
