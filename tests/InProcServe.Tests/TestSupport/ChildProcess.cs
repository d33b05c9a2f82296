using System.Diagnostics;
using System.Reflection;

namespace InProcServe.Tests.TestSupport;

/// <summary>
/// Runs a test scenario in a fresh process: for what ONNX Runtime fixes once per process (the environment's
/// thread pools) and for resident-memory figures that earlier tests in this process would blur. The test
/// assembly is its own entry point: <c>dotnet InProcServe.Tests.dll Type Method args…</c> calls the static
/// method <c>void Method(string[] args)</c> of the test type, which prints <c>key=value</c> lines.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Runs <typeparamref name="T"/>.<paramref name="method"/> in a new process and returns what it printed as key/value pairs.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">The process failed; the message holds its output and error stream.</exception>
    internal static IReadOnlyDictionary<string, string> Run<T>(string method, params string[] args) => Run<T>(method, args, new Dictionary<string, string>());

    /// <summary>As <see cref="Run{T}(string, string[])"/>, with extra environment variables for the child.</summary>
    internal static IReadOnlyDictionary<string, string> Run<T>(string method, string[] args, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        foreach (var argument in (string[])["exec", typeof(ChildProcess).Assembly.Location, typeof(T).FullName!, method, .. args])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
        }

        Assert.True(process.HasExited && process.ExitCode == 0, $"{typeof(T).Name}.{method} failed in a child process:{Environment.NewLine}{output}{error.Result}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1].TrimEnd('\r'));
    }

    /// <summary>The child's entry point; test runners load the assembly without calling it.</summary>
    internal static void Main(string[] args)
    {
        var method = Type.GetType(args[0], throwOnError: true)!.GetMethod(args[1], BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new MissingMethodException(args[0], args[1]);
        method.Invoke(null, [args[2..]]);
    }
}
