using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace InProcServe.Generators.Helpers;

/// <summary>
/// An immutable array compared by its elements, so spec models that hold one stay equatable and the
/// incremental pipeline can tell an unchanged contract from a changed one (ImmutableArray compares by reference).
/// </summary>
/// <typeparam name="T">The element type, itself equatable.</typeparam>
internal sealed class ImmutableEquatableArray<T> : IEquatable<ImmutableEquatableArray<T>>, IReadOnlyList<T>
    where T : IEquatable<T>
{
    /// <summary>The array with no elements.</summary>
    public static ImmutableEquatableArray<T> Empty { get; } = new([]);

    /// <summary>The elements; never handed out, so never mutated.</summary>
    private readonly T[] values;

    /// <summary>Wraps <paramref name="values"/>, which the caller must not change afterwards.</summary>
    public ImmutableEquatableArray(T[] values) => this.values = values;

    /// <inheritdoc/>
    public T this[int index] => values[index];

    /// <inheritdoc/>
    public int Count => values.Length;

    /// <inheritdoc/>
    public bool Equals(ImmutableEquatableArray<T>? other) =>
        other is not null && (ReferenceEquals(this, other) || values.SequenceEqual(other.values));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ImmutableEquatableArray<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = 17;
        foreach (var value in values)
        {
            hash = unchecked((hash * 31) + (value?.GetHashCode() ?? 0));
        }

        return hash;
    }

    /// <inheritdoc/>
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => values.GetEnumerator();
}

/// <summary>Creates <see cref="ImmutableEquatableArray{T}"/> instances.</summary>
internal static class ImmutableEquatableArray
{
    /// <summary>Copies <paramref name="values"/> into a new equatable array.</summary>
    public static ImmutableEquatableArray<T> ToImmutableEquatableArray<T>(this IEnumerable<T> values)
        where T : IEquatable<T> =>
        values.ToArray() is { Length: > 0 } array ? new(array) : ImmutableEquatableArray<T>.Empty;
}
