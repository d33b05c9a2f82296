using System.Buffers.Binary;
using System.Text;

namespace VoiceActivity;

/// <summary>Reads PCM WAV files (8/16/24/32-bit integer or 32-bit float, any channels and rate) as mono samples at 16 kHz.</summary>
internal static class Wav
{
    internal const int SampleRate = 16_000;

    internal static float[] ReadMono16k(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 12 || Encoding.ASCII.GetString(bytes, 0, 4) != "RIFF" || Encoding.ASCII.GetString(bytes, 8, 4) != "WAVE")
        {
            throw new InvalidDataException($"{path} is not a WAV file (no RIFF/WAVE header).");
        }

        int format = 0, channels = 0, rate = 0, bits = 0;
        for (var offset = 12; offset + 8 <= bytes.Length;)
        {
            var id = Encoding.ASCII.GetString(bytes, offset, 4);
            var size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4)), (uint)(bytes.Length - offset - 8));
            var chunk = bytes.AsSpan(offset + 8, size);
            if (id == "fmt ")
            {
                format = BinaryPrimitives.ReadUInt16LittleEndian(chunk);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(chunk[2..]);
                rate = BinaryPrimitives.ReadInt32LittleEndian(chunk[4..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(chunk[14..]);
                if (format == 0xFFFE && size >= 26) format = BinaryPrimitives.ReadUInt16LittleEndian(chunk[24..]); // WAVE_FORMAT_EXTENSIBLE
            }
            else if (id == "data")
            {
                if (channels == 0) throw new InvalidDataException($"{path}: the data chunk comes before the fmt chunk.");
                return Resample(Mix(chunk, format, channels, bits, path), rate);
            }

            offset += 8 + size + (size & 1);
        }

        throw new InvalidDataException($"{path} has no data chunk.");
    }

    private static float[] Mix(ReadOnlySpan<byte> data, int format, int channels, int bits, string path)
    {
        var width = bits / 8;
        if (!((format == 1 && width is 1 or 2 or 3 or 4) || (format == 3 && width == 4)))
        {
            throw new InvalidDataException($"{path}: {bits}-bit format {format} is not supported; use PCM (8/16/24/32-bit) or 32-bit float.");
        }

        var frames = data.Length / (width * channels);
        var mono = new float[frames];
        for (var i = 0; i < frames; i++)
        {
            var sum = 0f;
            for (var c = 0; c < channels; c++)
            {
                var sample = data.Slice((i * channels + c) * width, width);
                sum += (format, width) switch
                {
                    (3, _) => BinaryPrimitives.ReadSingleLittleEndian(sample),
                    (_, 1) => (sample[0] - 128) / 128f,
                    (_, 2) => BinaryPrimitives.ReadInt16LittleEndian(sample) / 32768f,
                    (_, 3) => ((sample[0] << 8) | (sample[1] << 16) | (sample[2] << 24)) / 2147483648f,
                    _ => BinaryPrimitives.ReadInt32LittleEndian(sample) / 2147483648f,
                };
            }

            mono[i] = sum / channels;
        }

        return mono;
    }

    /// <summary>Linear interpolation to 16 kHz: enough for voice-activity detection, which looks at energy and pitch.</summary>
    private static float[] Resample(float[] samples, int rate)
    {
        if (rate == SampleRate) return samples;
        var resampled = new float[(int)((long)samples.Length * SampleRate / rate)];
        for (var i = 0; i < resampled.Length; i++)
        {
            var position = (double)i * rate / SampleRate;
            var left = (int)position;
            var right = Math.Min(left + 1, samples.Length - 1);
            resampled[i] = (float)(samples[left] + (samples[right] - samples[left]) * (position - left));
        }

        return resampled;
    }

    /// <summary>Writes 16-bit mono PCM at 16 kHz.</summary>
    internal static void Write(string path, ReadOnlySpan<float> samples)
    {
        using var file = new BinaryWriter(File.Create(path));
        file.Write("RIFF"u8);
        file.Write(36 + samples.Length * 2);
        file.Write("WAVEfmt "u8);
        file.Write(16);
        file.Write((short)1);
        file.Write((short)1);
        file.Write(SampleRate);
        file.Write(SampleRate * 2);
        file.Write((short)2);
        file.Write((short)16);
        file.Write("data"u8);
        file.Write(samples.Length * 2);
        foreach (var sample in samples) file.Write((short)Math.Clamp(sample * 32767f, short.MinValue, short.MaxValue));
    }
}
