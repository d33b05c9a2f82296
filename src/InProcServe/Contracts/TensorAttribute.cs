namespace InProcServe;

/// <summary>
/// Maps a member of a <see cref="ModelInputAttribute"/> or <see cref="ModelOutputAttribute"/> type to a
/// model tensor. What the member fills in each row depends on its type and on what is set here:
/// <list type="bullet">
/// <item>a scalar (float, double, Half, sbyte, short, int, long, byte, ushort, uint, ulong, bool, or an
/// enum, as its integer type): one element per row of a tensor shaped [N] or [N,1];</item>
/// <item>a scalar with <see cref="Column"/>: element <c>Column</c> of each row of an [N,K] tensor that several
/// members fill together (K is one more than the highest column);</item>
/// <item>a vector (T[], ReadOnlyMemory&lt;T&gt;, or an [InlineArray] struct) with <see cref="Length"/>: one row of
/// an [N,Length] tensor;</item>
/// <item>a vector with <see cref="Shape"/>: one row-major tensor per row, of an [N, …Shape] tensor.</item>
/// </list>
/// </summary>
/// <param name="name">The model input or output name.</param>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter, Inherited = false)]
public sealed class TensorAttribute(string name) : Attribute
{
    /// <summary>The model input or output name.</summary>
    public string Name { get; } = name;

    /// <summary>The column this scalar fills in an [N,K] tensor shared with other members. Default: -1, not a column.</summary>
    public int Column { get; set; } = -1;

    /// <summary>The number of elements of a vector member, checked on every row. Default: 0, not a vector (or see <see cref="Shape"/>).</summary>
    public int Length { get; set; }

    /// <summary>The per-row shape of a tensor member, such as { 3, 224, 224 }; the member holds the elements row-major. Default: null.</summary>
    public int[]? Shape { get; set; }
}
