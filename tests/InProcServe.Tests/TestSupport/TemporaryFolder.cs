namespace InProcServe.Tests.TestSupport;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TemporaryFolder : IDisposable
{
    internal string Path { get; } = Directory.CreateTempSubdirectory("inprocserve-tests-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
