namespace InProcServe.Cli;

/// <summary>A mistake in what the tool was asked to do (a missing file, a model it can't handle): printed as is, exit code 1, no stack trace.</summary>
internal sealed class CliException(string message) : Exception(message);
