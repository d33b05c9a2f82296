// Finds speech in a WAV file with Silero VAD v5, run in-process by InProcServe as a stateful sequence model:
// the LSTM state of each 32 ms frame feeds the next frame's call.
//
//   dotnet run --project samples/VoiceActivity -- [FILE.wav] [--json FILE] [--threshold 0.5]
//
// With no file, it makes one: speech from espeak-ng when that is installed (apt-get install espeak-ng),
// else a synthetic voice-like signal between stretches of silence.
using System.Diagnostics;
using System.Text.Json;
using InProcServe;
using VoiceActivity;

const int Frame = 512; // 32 ms at 16 kHz, the frame Silero VAD v5 takes.

string? input = null, json = null;
var threshold = 0.5f;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--json" when i + 1 < args.Length: json = args[++i]; break;
        case "--threshold" when i + 1 < args.Length: threshold = float.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--help" or "-h":
            Console.WriteLine("usage: VoiceActivity [FILE.wav] [--json FILE] [--threshold 0.5]");
            return 0;
        default:
            if (args[i].StartsWith("--", StringComparison.Ordinal) || input is not null)
            {
                Console.Error.WriteLine($"Unknown argument '{args[i]}'. usage: VoiceActivity [FILE.wav] [--json FILE] [--threshold 0.5]");
                return 2;
            }

            input = args[i];
            break;
    }
}

input ??= MakeExample();
var audio = Wav.ReadMono16k(input);
Console.WriteLine($"{input}: {audio.Length / (double)Wav.SampleRate:0.00} s of audio");

using var session = ModelSession.Load(Path.Combine(AppContext.BaseDirectory, "models", "silero_vad_v5.onnx"), new ModelSessionOptions { Name = "silero_vad", IntraOpThreads = 1 });
var options = new SequenceOptions();
options.States["stateN"] = "state";
using var vad = new SequenceModel(session, options);

var timer = Stopwatch.StartNew();
var probabilities = new float[audio.Length / Frame];
var samples = new float[Frame];
using (var frame = TensorValue.Create(samples, [1, Frame]))
using (var sampleRate = TensorValue.Create(new long[] { Wav.SampleRate }, []))
{
    for (var i = 0; i < probabilities.Length; i++)
    {
        audio.AsSpan(i * Frame, Frame).CopyTo(samples);
        using var outputs = vad.Run(input, [("input", frame), ("sr", sampleRate)]);
        probabilities[i] = outputs["output"].GetSpan<float>()[0];
    }
}

var segments = Segments(probabilities, threshold);
Console.WriteLine($"{probabilities.Length} frames in {timer.Elapsed.TotalMilliseconds:0} ms ({timer.Elapsed.TotalMicroseconds / Math.Max(1, probabilities.Length):0} µs per frame)");
Console.WriteLine(segments.Count == 0 ? "No speech found." : $"{segments.Count} speech segment{(segments.Count == 1 ? "" : "s")}:");
foreach (var (start, end) in segments)
{
    Console.WriteLine($"  {start,7:0.00} s – {end,7:0.00} s");
}

if (json is not null)
{
    File.WriteAllText(json, JsonSerializer.Serialize(segments.Select(s => new Dictionary<string, double> { ["start_s"] = s.Start, ["end_s"] = s.End })));
    Console.WriteLine($"Wrote {json}");
}

return 0;

// Silero's own rule: speech starts above the threshold and ends after 100 ms below threshold - 0.15;
// segments shorter than 250 ms are dropped, and each is padded by 30 ms.
static List<(double Start, double End)> Segments(float[] probabilities, float threshold)
{
    const double FrameSeconds = (double)Frame / Wav.SampleRate;
    const double MinSpeech = 0.25, MinSilence = 0.1, Pad = 0.03;
    var segments = new List<(double, double)>();
    double? start = null, silenceSince = null;
    for (var i = 0; i < probabilities.Length; i++)
    {
        var t = i * FrameSeconds;
        if (probabilities[i] >= threshold)
        {
            start ??= t;
            silenceSince = null;
        }
        else if (start is not null && probabilities[i] < threshold - 0.15f)
        {
            silenceSince ??= t;
            if (t + FrameSeconds - silenceSince >= MinSilence)
            {
                Add(start.Value, silenceSince.Value);
                start = silenceSince = null;
            }
        }
    }

    if (start is not null) Add(start.Value, silenceSince ?? probabilities.Length * FrameSeconds);
    return segments;

    void Add(double from, double to)
    {
        if (to - from >= MinSpeech) segments.Add((Math.Max(0, from - Pad), Math.Min(probabilities.Length * FrameSeconds, to + Pad)));
    }
}

static string MakeExample()
{
    var path = Path.Combine(Path.GetTempPath(), "inprocserve-voice-example.wav");
    try
    {
        using var espeak = Process.Start(new ProcessStartInfo("espeak-ng", ["-w", path, "In process serving runs the model inside your app. No sidecar, no network hop."])
        {
            RedirectStandardError = true,
        })!;
        espeak.WaitForExit();
        if (espeak.ExitCode == 0)
        {
            // Pad the speech with a second of silence on each side, so there is something to tell apart.
            var speech = Wav.ReadMono16k(path);
            Wav.Write(path, [.. new float[Wav.SampleRate], .. speech, .. new float[Wav.SampleRate]]);
            Console.WriteLine("No file given: made one with espeak-ng.");
            return path;
        }
    }
    catch (System.ComponentModel.Win32Exception)
    {
        // espeak-ng is not installed.
    }

    Console.WriteLine("No file given and no espeak-ng: made a synthetic voice-like signal (1.0–2.5 s and 3.5–4.5 s) between silences.");
    Console.WriteLine("Silero VAD is built to reject such signals and may find only its onset; for real speech, apt-get install espeak-ng.");
    Wav.Write(path, SyntheticVoice());
    return path;
}

// A voice-like signal: a gliding pitch (100–160 Hz) with vowel formants and a syllable rhythm, in two
// bursts; faint noise elsewhere. Not speech, but close enough in pitch and rhythm for the detector.
static float[] SyntheticVoice()
{
    var audio = new float[5 * Wav.SampleRate];
    var random = new Random(7);
    var phase = 0.0;
    for (var n = 0; n < audio.Length; n++)
    {
        var t = (double)n / Wav.SampleRate;
        var pitch = 130 + 30 * Math.Sin(2 * Math.PI * 1.3 * t);
        phase += 2 * Math.PI * pitch / Wav.SampleRate;
        // Syllables of 200 ms with 60 ms gaps, as in running speech.
        var voiced = (t is >= 1.0 and < 2.5 or >= 3.5 and < 4.5) && (t - 1.0) % 0.26 < 0.2;
        var signal = 0.0;
        if (voiced)
        {
            // Harmonics near 700 Hz and 1200 Hz (an "a"-like vowel) are loudest.
            for (var harmonic = 1; harmonic <= 30; harmonic++)
            {
                var frequency = harmonic * pitch;
                var formants = Math.Exp(-Math.Pow((frequency - 700) / 250, 2)) + 0.6 * Math.Exp(-Math.Pow((frequency - 1200) / 300, 2)) + 0.1;
                signal += formants * Math.Sin(harmonic * phase) / Math.Sqrt(harmonic);
            }

            signal *= 0.15 * (0.35 + 0.65 * Math.Abs(Math.Sin(2 * Math.PI * 2.5 * t)));
        }

        audio[n] = (float)(signal + 0.002 * (random.NextDouble() - 0.5));
    }

    return audio;
}
