using System.Runtime.CompilerServices;

namespace InProcServe;

/// <summary>Cuts a stream of requests into batches for bulk calls.</summary>
internal static class StreamBatches
{
    /// <summary>
    /// Yields the items of <paramref name="source"/> in batches of up to <paramref name="size"/>. A batch closes when
    /// full, or when the stream has nothing ready, so a slow source doesn't hold back answers to what it already sent.
    /// Every batch is the same buffer, refilled: use it before asking for the next.
    /// </summary>
    internal static async IAsyncEnumerable<ArraySegment<T>> ReadAsync<T>(IAsyncEnumerable<T> source, int size, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new T[size];
        var count = 0;
        await using var items = source.GetAsyncEnumerator(cancellationToken);
        var next = items.MoveNextAsync();
        while (true)
        {
            if (count == size || (count > 0 && !next.IsCompleted))
            {
                yield return new ArraySegment<T>(buffer, 0, count);
                count = 0;
            }

            if (!await next.ConfigureAwait(false)) break;
            buffer[count++] = items.Current;
            next = items.MoveNextAsync();
        }

        if (count > 0) yield return new ArraySegment<T>(buffer, 0, count);
    }
}
