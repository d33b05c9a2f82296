using System.Collections.Immutable;
using InProcServe.Tensors;

namespace InProcServe;

/// <summary>One input or output of a model: its name, element type and shape.</summary>
public sealed class TensorInfo
{
    internal TensorInfo(string name, TensorElementType elementType, ImmutableArray<long> shape, ImmutableArray<string?> dimensionNames)
    {
        Name = name;
        ElementType = elementType;
        Shape = shape;
        DimensionNames = dimensionNames;
    }

    /// <summary>The name the model gives the tensor.</summary>
    public string Name { get; }

    /// <summary>
    /// The element type, or <see cref="TensorElementType.Undefined"/> when the value is not a tensor
    /// (a sequence, map or optional).
    /// </summary>
    public TensorElementType ElementType { get; }

    /// <summary>The dimensions, outermost first; -1 marks a dynamic dimension. Empty for a scalar.</summary>
    public ImmutableArray<long> Shape { get; }

    /// <summary>Per dimension, its symbolic name (such as "batch") when the model gives one, else null.</summary>
    public ImmutableArray<string?> DimensionNames { get; }

    /// <summary>The type and shape as messages show them, such as "float32[batch,30]".</summary>
    public string TypeAndShape => TensorElement.Name(ElementType) + TensorElement.FormatShape(Shape.AsSpan(), DimensionNames);

    /// <summary>The name, type and shape, such as "features: float32[batch,30]".</summary>
    public override string ToString() => $"{Name}: {TypeAndShape}";
}
