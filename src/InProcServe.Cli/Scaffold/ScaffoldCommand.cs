using System.CommandLine;
using Spectre.Console;

namespace InProcServe.Cli.Scaffold;

/// <summary><c>inprocserve scaffold MODEL.onnx</c>: writes the C# contract of a model, ready to compile.</summary>
internal static class ScaffoldCommand
{
    internal static Command Create(IAnsiConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .onnx file." };
        var name = new Option<string?>("--name") { Description = "The prefix of the type names: Fraud → FraudInput, FraudOutput, FraudModel. Default: the file name in PascalCase." };
        var ns = new Option<string>("--namespace") { Description = "The namespace of the types.", DefaultValueFactory = _ => "Models" };
        var output = new Option<string>("--out") { Description = "The folder to write NAMEModel.cs into.", DefaultValueFactory = _ => "." };
        var shape = new Option<string[]>("--shape") { Description = "NAME=d0,d1,…: sizes for an input's dynamic dimensions other than the batch; an output dimension of the same symbolic name takes the same size." };
        var command = new Command("scaffold",
            "Writes the C# contract of a model: [ModelInput]/[ModelOutput] records with [Tensor] members and a ModelDefinition. A model whose tensors " +
            "can't all be contract members (strings, scalars, a fixed batch over 1, dynamic sizes) gets a typed wrapper over ModelSession instead, with the reasons in its header.")
        {
            model, name, ns, output, shape,
        };
        command.SetAction(result => CliCommand.Run(console, () => Run(
            console,
            result.GetRequiredValue(model),
            result.GetValue(name),
            result.GetRequiredValue(ns),
            result.GetRequiredValue(output),
            result.GetValue(shape) ?? [])));
        return command;
    }

    /// <summary>Writes the file; returns 0.</summary>
    internal static int Run(IAnsiConsole console, string path, string? name, string ns, string folder, string[] shapeOptions)
    {
        if (!File.Exists(path)) throw new CliException($"The model file '{Path.GetFullPath(path)}' does not exist.");
        name ??= ContractScaffolder.Identifier(Path.GetFileNameWithoutExtension(path));
        if (ContractScaffolder.Identifier(name) != name) throw new CliException($"--name '{name}' is not a PascalCase C# identifier; try '{ContractScaffolder.Identifier(name)}'.");
        if (!ns.Split('.').All(part => part.Length > 0 && ContractScaffolder.Identifier(part) == part))
        {
            throw new CliException($"--namespace '{ns}' is not a namespace of PascalCase identifiers separated by dots, such as MyApp.Models.");
        }

        using var session = ModelSession.Load(path);
        var sizes = SymbolSizes(session, ModelInputs.ParseShapes(shapeOptions));
        var scaffolded = ContractScaffolder.Generate(session, Path.GetFileName(path), name, ns, sizes);
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, name + "Model.cs");
        File.WriteAllText(file, scaffolded.Code);
        if (scaffolded.IsContract)
        {
            console.MarkupLineInterpolated($"Wrote {file}: [bold]{name}Input[/], [bold]{name}Output[/] and [bold]{name}Model[/] (services.AddModel<{name}Model>(), or ModelRunner.Create<{name}Input, {name}Output>(session)).");
            return 0;
        }

        console.MarkupLineInterpolated($"Wrote {file}: [bold]{name}Model[/], a typed wrapper over ModelSession. [yellow]No typed contract[/], because:");
        foreach (var note in scaffolded.Notes) console.WriteLine($"  - {note}");
        return 0;
    }

    /// <summary>The size of each symbolic dimension that a <c>--shape</c> gives.</summary>
    private static Dictionary<string, long> SymbolSizes(ModelSession session, Dictionary<string, long[]> shapes)
    {
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (input, dims) in shapes)
        {
            var info = session.Inputs.FirstOrDefault(i => i.Name == input)
                ?? throw new CliException($"--shape names '{input}', but the model's inputs are {string.Join(", ", session.Inputs.Select(i => $"'{i.Name}'"))}.");
            if (dims.Length != info.Shape.Length)
            {
                throw new CliException($"--shape {input}={string.Join(",", dims)} has rank {dims.Length}, but input {input}: {TensorText.TypeName(info.ElementType)}{TensorText.Shape(info)} has rank {info.Shape.Length}.");
            }

            // The first dimension stays the batch: its size comes with each call.
            for (var d = 1; d < dims.Length; d++)
            {
                if (info.Shape[d] < 0 && info.DimensionNames[d] is { } symbol) sizes[symbol] = dims[d];
            }
        }

        return sizes;
    }
}
