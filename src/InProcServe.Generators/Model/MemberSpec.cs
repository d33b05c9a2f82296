namespace InProcServe.Generators.Model;

/// <summary>How a member's value is laid out in its tensor's row.</summary>
internal enum MemberKind
{
    /// <summary>One element: the whole row of an [N] or [N,1] tensor.</summary>
    Scalar,

    /// <summary>One element at <see cref="MemberSpec.Column"/> of a row shared with other members.</summary>
    Column,

    /// <summary>A T[] holding the whole row.</summary>
    Array,

    /// <summary>A ReadOnlyMemory&lt;T&gt; holding the whole row.</summary>
    ReadOnlyMemory,

    /// <summary>An [InlineArray] struct holding the whole row; its length is fixed by its type.</summary>
    InlineArray,
}

/// <summary>One field or property mapped to a tensor.</summary>
/// <param name="Name">The member's name.</param>
/// <param name="Kind">Its layout.</param>
/// <param name="Type">The member's type as generated code names it.</param>
/// <param name="EnumType">The enum the member holds (as a scalar or as vector elements), converted to and from the tensor's integer type; null otherwise.</param>
/// <param name="Column">The column, for <see cref="MemberKind.Column"/>; otherwise -1.</param>
/// <param name="Length">Elements per row: 1 for scalars and columns, the row length for vectors.</param>
/// <param name="IsField">Whether the member is a field: an inline array field converts to a span in place, a property is copied to a local first.</param>
internal sealed record MemberSpec(string Name, MemberKind Kind, string Type, string? EnumType, int Column, int Length, bool IsField);
