using System.Collections.Concurrent;
using System.Diagnostics;

namespace InProcServe;

/// <summary>
/// A stateful model served to many independent sequences (audio streams, sessions of a user), each keyed by a
/// correlation id: the state outputs of a sequence's call become the state inputs of its next call, so callers
/// pass only their own inputs. Abandoned sequences are freed after <see cref="SequenceOptions.IdleTimeout"/>.
/// </summary>
/// <remarks>
/// Thread-safe: calls of different sequences run at the same time; calls of one sequence run one after another,
/// in the order they take the sequence's lock, so the state is never read and written by two calls at once.
/// </remarks>
public sealed class SequenceModel : IDisposable
{
    private readonly ConcurrentDictionary<string, Sequence> sequences = new(StringComparer.Ordinal);
    private readonly (string Output, string Input, long[] InitialShape, TensorElementType Type)[] states;
    private readonly Timer sweeper;
    private readonly long idleTicks;
    private readonly int maxSequences;
    private volatile bool disposed;

    /// <summary>Serves <paramref name="session"/> to sequences; the session stays open when this is disposed.</summary>
    /// <param name="session">The stateful model.</param>
    /// <param name="options">The state pairs, the idle timeout and the cap on open sequences.</param>
    /// <exception cref="ArgumentException">An option is invalid or a state pair does not fit the model; the message names each problem.</exception>
    public SequenceModel(ModelSession session, SequenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(session);
        Session = session;
        states = options.States.Select(pair =>
        {
            var input = session.Inputs.First(i => i.Name == pair.Value);
            return (pair.Key, pair.Value, input.Shape.Select(d => d < 0 ? 1L : d).ToArray(), input.ElementType);
        }).ToArray();
        OutputNames = session.Outputs.Select(o => o.Name).ToArray();
        idleTicks = (long)(options.IdleTimeout.TotalSeconds * Stopwatch.Frequency);
        maxSequences = options.MaxSequences;
        var period = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerMinute));
        sweeper = new Timer(static self => ((SequenceModel)self!).EvictIdle(), this, period, period);
    }

    /// <summary>The model.</summary>
    public ModelSession Session { get; }

    /// <summary>The sequences open now.</summary>
    public int Count => sequences.Count;

    private string[] OutputNames { get; }

    /// <summary>
    /// Runs the next call of sequence <paramref name="sequenceId"/>, opening it (with zero state) if it is new.
    /// </summary>
    /// <param name="sequenceId">The correlation id.</param>
    /// <param name="inputs">Every model input except the state inputs, which the sequence supplies.</param>
    /// <param name="cancellationToken">Cancels the run; the sequence's state is then left as it was.</param>
    /// <returns>Every model output, state outputs included, allocated by ONNX Runtime; dispose them.</returns>
    /// <exception cref="ArgumentException">An input is a state input, or the inputs don't fit the model.</exception>
    /// <exception cref="InvalidOperationException">The sequence is new and <see cref="SequenceOptions.MaxSequences"/> are open.</exception>
    /// <exception cref="ObjectDisposedException">This or the session was disposed.</exception>
    public RunOutputs Run(string sequenceId, ReadOnlySpan<NamedTensor> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequenceId);
        foreach (var (name, _) in inputs)
        {
            if (states.Any(s => s.Input == name))
            {
                throw new ArgumentException($"Model '{Session.Name}': input '{name}' is a state the sequence carries; leave it out.", nameof(inputs));
            }
        }

        var all = new NamedTensor[inputs.Length + states.Length];
        inputs.CopyTo(all);
        while (true)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var sequence = Open(sequenceId);
            lock (sequence.Gate)
            {
                // Evicted between the lookup and the lock: open it anew.
                if (sequence.State is null) continue;
                sequence.LastUsed = Stopwatch.GetTimestamp();
                for (var i = 0; i < states.Length; i++)
                {
                    all[inputs.Length + i] = new NamedTensor(states[i].Input, sequence.State[i]);
                }

                var outputs = Session.Run(all, OutputNames, cancellationToken);
                try
                {
                    for (var i = 0; i < states.Length; i++)
                    {
                        var next = outputs[states[i].Output];
                        if (next.Shape.SequenceEqual(sequence.State[i].Shape))
                        {
                            sequence.State[i].CopyFrom(next);
                        }
                        else
                        {
                            // A state whose dynamic dimensions changed (a growing context): keep a copy of the new shape.
                            var grown = TensorValue.Allocate(states[i].Type, next.Shape);
                            grown.CopyFrom(next);
                            sequence.State[i].Dispose();
                            sequence.State[i] = grown;
                        }
                    }
                }
                catch
                {
                    outputs.Dispose();
                    throw;
                }

                sequence.LastUsed = Stopwatch.GetTimestamp();
                return outputs;
            }
        }
    }

    /// <summary>Closes a sequence and frees its state; its next call, if any, starts anew.</summary>
    /// <param name="sequenceId">The correlation id.</param>
    /// <returns>Whether the sequence was open.</returns>
    public bool End(string sequenceId)
    {
        if (!sequences.TryRemove(sequenceId, out var sequence)) return false;
        sequence.Free();
        return true;
    }

    /// <summary>Frees every sequence's state and stops the idle sweep; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        disposed = true;
        sweeper.Dispose();
        foreach (var id in sequences.Keys) End(id);
    }

    private Sequence Open(string sequenceId)
    {
        if (sequences.TryGetValue(sequenceId, out var open)) return open;
        if (sequences.Count >= maxSequences)
        {
            throw new InvalidOperationException($"Model '{Session.Name}': {maxSequences} sequences are open, the most allowed; end some or raise {nameof(SequenceOptions)}.{nameof(SequenceOptions.MaxSequences)}.");
        }

        var created = new Sequence(states.Select(s => TensorValue.Allocate(s.Type, s.InitialShape)).ToArray());
        var winner = sequences.GetOrAdd(sequenceId, created);
        if (winner != created) created.Free();
        return winner;
    }

    private void EvictIdle()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var (id, sequence) in sequences)
        {
            if (now - Volatile.Read(ref sequence.LastUsed) > idleTicks && sequences.TryRemove(new KeyValuePair<string, Sequence>(id, sequence)))
            {
                sequence.Free();
            }
        }
    }

    /// <summary>One sequence's state; <see cref="State"/> is null once freed. Guarded by <see cref="Gate"/>.</summary>
    private sealed class Sequence(TensorValue[] state)
    {
        public readonly Lock Gate = new();
        public long LastUsed = Stopwatch.GetTimestamp();

        public TensorValue[]? State { get; private set; } = state;

        public void Free()
        {
            lock (Gate)
            {
                if (State is null) return;
                foreach (var tensor in State) tensor.Dispose();
                State = null;
            }
        }
    }
}
