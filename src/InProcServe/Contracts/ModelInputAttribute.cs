namespace InProcServe;

/// <summary>
/// Marks a partial class, struct or record as a model input: the InProcServe source generator writes
/// its <see cref="IModelInput{TSelf}"/> implementation, which copies each member marked
/// <see cref="TensorAttribute"/> straight into the batch's tensor memory.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class ModelInputAttribute : Attribute;

/// <summary>
/// Marks a partial class, struct or record as a model output: the InProcServe source generator writes
/// its <see cref="IModelOutput{TSelf}"/> implementation, which builds an instance from row i of the
/// output tensors named by its <see cref="TensorAttribute"/> members.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class ModelOutputAttribute : Attribute;
