namespace InProcServe;

/// <summary>
/// A small lock-free pool of <see cref="BatchBuffers"/>: a caller rents one, fills, runs and reads it, and
/// returns it. Buffers beyond the pool's slots are disposed on return; none are created until needed.
/// </summary>
internal sealed class BatchPool : IDisposable
{
    private readonly BatchBuffers?[] slots = new BatchBuffers?[Math.Max(2, Environment.ProcessorCount)];
    private readonly Func<BatchBuffers> create;
    private volatile bool disposed;

    internal BatchPool(Func<BatchBuffers> create) => this.create = create;

    internal BatchBuffers Rent()
    {
        for (var i = 0; i < slots.Length; i++)
        {
            if (Interlocked.Exchange(ref slots[i], null) is { } buffers)
            {
                return buffers;
            }
        }

        return create();
    }

    internal void Return(BatchBuffers buffers)
    {
        for (var i = 0; !disposed && i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i], buffers, null) is null)
            {
                // Dispose may have drained the slots between the check and the store: take it back.
                if (disposed && Interlocked.Exchange(ref slots[i], null) is { } late)
                {
                    late.Dispose();
                }

                return;
            }
        }

        buffers.Dispose();
    }

    public void Dispose()
    {
        disposed = true;
        for (var i = 0; i < slots.Length; i++)
        {
            Interlocked.Exchange(ref slots[i], null)?.Dispose();
        }
    }
}
