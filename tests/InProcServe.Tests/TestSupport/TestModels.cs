using System.Reflection;
using System.Text.Json;

namespace InProcServe.Tests.TestSupport;

/// <summary>The committed test models (models/ at the repository root) and their numpy references.</summary>
internal static class TestModels
{
    internal static string Folder { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "models");

    internal static string Path(string model) => System.IO.Path.Combine(Folder, model + ".onnx");

    /// <summary>
    /// Copies <paramref name="file"/> into a model repository as <c>&lt;model&gt;/&lt;version&gt;/model.onnx</c>, moved
    /// in whole so a watcher never sees a half-copied version.
    /// </summary>
    internal static void AddToRepository(string repository, string model, long version, string file)
    {
        var folder = System.IO.Path.Combine(repository, model, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var staging = folder + ".staging";
        Directory.CreateDirectory(staging);
        File.Copy(file, System.IO.Path.Combine(staging, VersionFolder.ModelFileName));
        Directory.Move(staging, folder);
    }

    internal static ReferenceFile Reference(string model)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine(Folder, model + ".reference.json")));
        var root = document.RootElement.Clone();
        var cases = root.GetProperty("cases").EnumerateArray()
            .Select(c => new ReferenceCase(ReadTensors(c.GetProperty("inputs")), ReadTensors(c.GetProperty("outputs"))))
            .ToList();
        return new ReferenceFile(root.GetProperty("tolerance").GetDouble(), cases);
    }

    /// <summary>The cache folder the build uses (build/OnnxRuntime.props), for third-party models fetched at test time.</summary>
    internal static string CacheFolder =>
        typeof(TestModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "InProcServeCache").Value!;

    private static List<ReferenceTensor> ReadTensors(JsonElement tensors) =>
        tensors.EnumerateObject().Select(property =>
        {
            var shape = property.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var type = property.Value.GetProperty("type").GetString()!;
            var data = property.Value.GetProperty("data").EnumerateArray().ToArray();
            return new ReferenceTensor(property.Name, type, shape, data);
        }).ToList();
}

internal sealed record ReferenceFile(double Tolerance, IReadOnlyList<ReferenceCase> Cases);

internal sealed record ReferenceCase(IReadOnlyList<ReferenceTensor> Inputs, IReadOnlyList<ReferenceTensor> Outputs);

/// <summary>One tensor of a reference file: JSON numbers converted exactly to the tensor's .NET type.</summary>
internal sealed record ReferenceTensor(string Name, string Type, long[] Shape, JsonElement[] Data)
{
    internal TensorElementType ElementType => Type switch
    {
        "float32" => TensorElementType.Float,
        "float64" => TensorElementType.Double,
        "float16" => TensorElementType.Float16,
        "int8" => TensorElementType.Int8,
        "int16" => TensorElementType.Int16,
        "int32" => TensorElementType.Int32,
        "int64" => TensorElementType.Int64,
        "uint8" => TensorElementType.UInt8,
        "uint16" => TensorElementType.UInt16,
        "uint32" => TensorElementType.UInt32,
        "uint64" => TensorElementType.UInt64,
        "bool" => TensorElementType.Bool,
        "string" => TensorElementType.String,
        _ => throw new InvalidDataException($"Unknown reference type '{Type}'."),
    };

    /// <summary>Creates a tensor over a fresh array holding this reference's data.</summary>
    internal TensorValue ToTensor() => ElementType switch
    {
        TensorElementType.Float => TensorValue.Create(Data.Select(d => (float)d.GetDouble()).ToArray(), Shape),
        TensorElementType.Double => TensorValue.Create(Data.Select(d => d.GetDouble()).ToArray(), Shape),
        TensorElementType.Float16 => TensorValue.Create(Data.Select(d => (Half)d.GetDouble()).ToArray(), Shape),
        TensorElementType.Int8 => TensorValue.Create(Data.Select(d => d.GetSByte()).ToArray(), Shape),
        TensorElementType.Int16 => TensorValue.Create(Data.Select(d => d.GetInt16()).ToArray(), Shape),
        TensorElementType.Int32 => TensorValue.Create(Data.Select(d => d.GetInt32()).ToArray(), Shape),
        TensorElementType.Int64 => TensorValue.Create(Data.Select(d => d.GetInt64()).ToArray(), Shape),
        TensorElementType.UInt8 => TensorValue.Create(Data.Select(d => d.GetByte()).ToArray(), Shape),
        TensorElementType.UInt16 => TensorValue.Create(Data.Select(d => d.GetUInt16()).ToArray(), Shape),
        TensorElementType.UInt32 => TensorValue.Create(Data.Select(d => d.GetUInt32()).ToArray(), Shape),
        TensorElementType.UInt64 => TensorValue.Create(Data.Select(d => d.GetUInt64()).ToArray(), Shape),
        TensorElementType.Bool => TensorValue.Create(Data.Select(d => d.GetBoolean()).ToArray(), Shape),
        TensorElementType.String => TensorValue.CreateStrings(Data.Select(d => d.GetString()!).ToArray(), Shape),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Allocates a zero tensor of this reference's type and shape, to receive an output.</summary>
    internal TensorValue AllocateLike() => ElementType switch
    {
        TensorElementType.Float => TensorValue.Allocate<float>(Shape),
        TensorElementType.Double => TensorValue.Allocate<double>(Shape),
        TensorElementType.Float16 => TensorValue.Allocate<Half>(Shape),
        TensorElementType.Int8 => TensorValue.Allocate<sbyte>(Shape),
        TensorElementType.Int16 => TensorValue.Allocate<short>(Shape),
        TensorElementType.Int32 => TensorValue.Allocate<int>(Shape),
        TensorElementType.Int64 => TensorValue.Allocate<long>(Shape),
        TensorElementType.UInt8 => TensorValue.Allocate<byte>(Shape),
        TensorElementType.UInt16 => TensorValue.Allocate<ushort>(Shape),
        TensorElementType.UInt32 => TensorValue.Allocate<uint>(Shape),
        TensorElementType.UInt64 => TensorValue.Allocate<ulong>(Shape),
        TensorElementType.Bool => TensorValue.Allocate<bool>(Shape),
        TensorElementType.String => TensorValue.CreateStrings(Data.Select(_ => "").ToArray(), Shape),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Asserts that <paramref name="actual"/> has this reference's type, shape and data (floats within <paramref name="tolerance"/>).</summary>
    internal void AssertMatches(TensorValue actual, double tolerance)
    {
        Assert.Equal(ElementType, actual.ElementType);
        Assert.Equal(Shape, actual.Shape.ToArray());
        switch (ElementType)
        {
            case TensorElementType.Float: AssertClose(actual.GetSpan<float>(), v => v, tolerance); break;
            case TensorElementType.Double: AssertClose(actual.GetSpan<double>(), v => v, tolerance); break;
            case TensorElementType.Float16: AssertClose(actual.GetSpan<Half>(), v => (double)v, tolerance); break;
            case TensorElementType.Int8: AssertExact(actual.GetSpan<sbyte>(), d => d.GetSByte()); break;
            case TensorElementType.Int16: AssertExact(actual.GetSpan<short>(), d => d.GetInt16()); break;
            case TensorElementType.Int32: AssertExact(actual.GetSpan<int>(), d => d.GetInt32()); break;
            case TensorElementType.Int64: AssertExact(actual.GetSpan<long>(), d => d.GetInt64()); break;
            case TensorElementType.UInt8: AssertExact(actual.GetSpan<byte>(), d => d.GetByte()); break;
            case TensorElementType.UInt16: AssertExact(actual.GetSpan<ushort>(), d => d.GetUInt16()); break;
            case TensorElementType.UInt32: AssertExact(actual.GetSpan<uint>(), d => d.GetUInt32()); break;
            case TensorElementType.UInt64: AssertExact(actual.GetSpan<ulong>(), d => d.GetUInt64()); break;
            case TensorElementType.Bool: AssertExact(actual.GetSpan<bool>(), d => d.GetBoolean()); break;
            case TensorElementType.String: Assert.Equal(Data.Select(d => d.GetString()), actual.GetStrings()); break;
        }
    }

    private void AssertClose<T>(Span<T> actual, Func<T, double> toDouble, double tolerance)
        where T : unmanaged
    {
        Assert.Equal(Data.Length, actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            var expected = Data[i].GetDouble();
            var got = toDouble(actual[i]);
            Assert.True(Math.Abs(expected - got) <= tolerance, $"{Name}[{i}]: expected {expected}, got {got} (tolerance {tolerance}).");
        }
    }

    private void AssertExact<T>(Span<T> actual, Func<JsonElement, T> read)
        where T : unmanaged, IEquatable<T>
    {
        Assert.Equal(Data.Length, actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            Assert.True(read(Data[i]).Equals(actual[i]), $"{Name}[{i}]: expected {read(Data[i])}, got {actual[i]}.");
        }
    }
}
