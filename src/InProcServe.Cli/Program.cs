using System.CommandLine;
using Spectre.Console;

namespace InProcServe.Cli;

/// <summary>The <c>inprocserve</c> tool's entry point.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        // Spectre wraps text at the terminal's width, or at 80 columns when output goes to a file or a pipe: a log keeps whole lines.
        if (Console.IsOutputRedirected) AnsiConsole.Console.Profile.Width = 240;
        return Run(args, AnsiConsole.Console);
    }

    /// <summary>Parses <paramref name="args"/> and runs the command on <paramref name="console"/>: the tests' way in.</summary>
    internal static int Run(string[] args, IAnsiConsole console)
    {
        var root = new RootCommand("inprocserve: inspect ONNX models, scaffold their C# contracts, measure them and quantize them, on the ONNX Runtime InProcServe runs.")
        {
            Inspect.InspectCommand.Create(console),
            Scaffold.ScaffoldCommand.Create(console),
            Perf.PerfCommand.Create(console),
            Quantize.QuantizeCommand.Create(console),
        };
        var output = new ConsoleWriter(console);
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output });
    }

    /// <summary>Sends System.CommandLine's help and parse errors to the same console as the commands' output.</summary>
    private sealed class ConsoleWriter(IAnsiConsole console) : StringWriter
    {
        public override void Write(char value) => console.Write(new Text(value.ToString()));

        public override void Write(string? value)
        {
            if (value is not null) console.Write(new Text(value));
        }

        public override void WriteLine(string? value) => console.WriteLine(value ?? "");
    }
}
