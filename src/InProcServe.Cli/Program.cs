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

    /// <summary>Sends System.CommandLine's help and parse errors, as they are, to the writer under the commands' console.</summary>
    private sealed class ConsoleWriter(IAnsiConsole console) : TextWriter
    {
        public override System.Text.Encoding Encoding => console.Profile.Encoding;

        public override void Write(char value) => console.Profile.Out.Writer.Write(value);

        public override void Write(char[] buffer, int index, int count) => console.Profile.Out.Writer.Write(buffer, index, count);

        public override void Write(string? value) => console.Profile.Out.Writer.Write(value);
    }
}
