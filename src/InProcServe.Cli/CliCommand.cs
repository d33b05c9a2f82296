using Spectre.Console;

namespace InProcServe.Cli;

/// <summary>What every command does around its work: a mistake is one line on the console and exit code 1, not a stack trace.</summary>
internal static class CliCommand
{
    /// <summary>Runs a command's work and turns the errors a user can act on into a message.</summary>
    internal static int Run(IAnsiConsole console, Func<int> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (e is CliException or OnnxRuntimeException or FileNotFoundException or ArgumentException or InvalidOperationException or NotSupportedException or IOException or UnauthorizedAccessException or DllNotFoundException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }
}
