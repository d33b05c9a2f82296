using InProcServe.Tests.Sessions;
using InProcServe.Tests.TestSupport;

namespace InProcServe.Tests.Sequences;

/// <summary>State carried per sequence, checked against Silero VAD run frame by frame through the untyped session.</summary>
public sealed class SequenceModelTests
{
    private const int Frame = SileroVadTests.FrameSamples;

    [Fact]
    public async Task Interleaved_sequences_each_carry_their_own_state()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad, new ModelSessionOptions { IntraOpThreads = 1 });
        using var sequences = new SequenceModel(vad, VadOptions());
        var speech = SileroVadTests.SyntheticAudio(frames: 12);
        var quiet = new float[speech.Length];
        var expectedSpeech = SileroVadTests.Stream(vad, speech, carryState: true, out _);
        var expectedQuiet = SileroVadTests.Stream(vad, quiet, carryState: true, out _);

        // Two streams at once, frames of each in order: each must see only its own state.
        var results = await Task.WhenAll(
            Task.Run(() => Score(sequences, "speech", speech)),
            Task.Run(() => Score(sequences, "quiet", quiet)));

        Assert.Equal(expectedSpeech, results[0]);
        Assert.Equal(expectedQuiet, results[1]);
        Assert.Equal(2, sequences.Count);
    }

    [Fact]
    public void Ending_a_sequence_starts_its_next_call_from_zero_state()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad, new ModelSessionOptions { IntraOpThreads = 1 });
        using var sequences = new SequenceModel(vad, VadOptions());
        var audio = SileroVadTests.SyntheticAudio(frames: 6);
        var expected = SileroVadTests.Stream(vad, audio, carryState: true, out _);

        var first = Score(sequences, "a", audio);
        Assert.True(sequences.End("a"));
        var again = Score(sequences, "a", audio);

        Assert.Equal(expected, first);
        Assert.Equal(expected, again);
        Assert.False(sequences.End("never-opened"));
    }

    [Fact]
    public async Task An_idle_sequence_is_evicted_and_its_state_freed()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad, new ModelSessionOptions { IntraOpThreads = 1 });
        var options = VadOptions();
        options.IdleTimeout = TimeSpan.FromMilliseconds(100);
        using var sequences = new SequenceModel(vad, options);
        var audio = SileroVadTests.SyntheticAudio(frames: 6);
        var expected = SileroVadTests.Stream(vad, audio, carryState: true, out _);

        Score(sequences, "idle", audio[..(3 * Frame)]);
        Assert.Equal(1, sequences.Count);
        for (var waited = 0; sequences.Count > 0 && waited < 300; waited++) await Task.Delay(10);

        Assert.Equal(0, sequences.Count);
        // Reopened from zero state: the same probabilities as a fresh stream.
        Assert.Equal(expected, Score(sequences, "idle", audio));
    }

    [Fact]
    public void Opening_more_sequences_than_allowed_fails_with_a_message()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad);
        var options = VadOptions();
        options.MaxSequences = 2;
        using var sequences = new SequenceModel(vad, options);
        var audio = new float[Frame];
        Score(sequences, "1", audio);
        Score(sequences, "2", audio);

        var error = Assert.Throws<InvalidOperationException>(() => Score(sequences, "3", audio));

        Assert.Contains("2 sequences are open, the most allowed", error.Message);
        Score(sequences, "1", audio);
    }

    [Fact]
    public void State_pairs_that_do_not_fit_the_model_are_named_all_at_once()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad);
        var options = new SequenceOptions { IdleTimeout = TimeSpan.Zero, MaxSequences = 0 };
        options.States["stateM"] = "state";
        options.States["output"] = "sr";

        var error = Assert.Throws<ArgumentException>(() => new SequenceModel(vad, options));

        Assert.Contains("state output 'stateM': the model has no such output", error.Message);
        Assert.Contains("state output: float32[?,1] can't feed input sr: int64[]: the element types and shapes must match.", error.Message);
        Assert.Contains("IdleTimeout is 00:00:00; it must be positive.", error.Message);
        Assert.Contains("MaxSequences is 0; it must be 1 or more.", error.Message);
    }

    [Fact]
    public void Passing_a_state_input_is_refused()
    {
        using var vad = ModelSession.Load(NpmModels.SileroVad);
        using var sequences = new SequenceModel(vad, VadOptions());
        using var state = TensorValue.Allocate<float>([2, 1, 128]);

        var error = Assert.Throws<ArgumentException>(() => sequences.Run("a", [("state", state)]));

        Assert.Contains("input 'state' is a state the sequence carries; leave it out.", error.Message);
    }

    private static SequenceOptions VadOptions()
    {
        var options = new SequenceOptions();
        options.States["stateN"] = "state";
        return options;
    }

    /// <summary>Runs the frames of <paramref name="audio"/> as calls of one sequence and returns each frame's probability.</summary>
    private static float[] Score(SequenceModel sequences, string id, float[] audio)
    {
        var probabilities = new float[audio.Length / Frame];
        using var sampleRate = TensorValue.Create(new long[] { 16_000 }, []);
        for (var i = 0; i < probabilities.Length; i++)
        {
            using var frame = TensorValue.Create(audio[(i * Frame)..((i + 1) * Frame)], [1, Frame]);
            using var outputs = sequences.Run(id, [("input", frame), ("sr", sampleRate)]);
            probabilities[i] = outputs["output"].GetSpan<float>()[0];
        }

        return probabilities;
    }
}
