using Spectre.Console;

namespace InProcServe.Cli.Tests.TestSupport;

/// <summary>Runs the tool in this process, as <c>inprocserve ARGS</c> would, on a console that writes plain text into a string.</summary>
internal static class CliHarness
{
    internal static (int ExitCode, string Output) Run(params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 240;
        var exitCode = Program.Run(args, console);
        return (exitCode, writer.ToString());
    }
}
