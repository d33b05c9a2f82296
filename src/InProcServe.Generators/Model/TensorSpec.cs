using InProcServe.Generators.Helpers;

namespace InProcServe.Generators.Model;

/// <summary>One model tensor a contract fills or reads, and the members that map to it.</summary>
/// <param name="Name">The model input or output name.</param>
/// <param name="ElementType">The element type: the TensorElementType member ("Float") and its .NET keyword ("float").</param>
/// <param name="RowShape">The dimensions of one row, without the batch dimension; empty for a scalar.</param>
/// <param name="Members">One member, or the column members ordered by column.</param>
internal sealed record TensorSpec(string Name, ElementTypeSpec ElementType, ImmutableEquatableArray<int> RowShape, ImmutableEquatableArray<MemberSpec> Members);

/// <summary>A tensor element type as generated code spells it.</summary>
/// <param name="TensorElementType">The <c>InProcServe.TensorElementType</c> member ("Float16").</param>
/// <param name="Keyword">The .NET type ("global::System.Half", "float").</param>
internal sealed record ElementTypeSpec(string TensorElementType, string Keyword);
