using InProcServe.Cli.Scaffold;

namespace InProcServe.Cli.Tests.Scaffold;

public sealed class ContractScaffolderTests
{
    [Theory]
    [InlineData("input.1", "Input1")]
    [InlineData("x_float", "XFloat")]
    [InlineData("silero_vad_v5", "SileroVadV5")]
    [InlineData("stateN", "StateN")]
    [InlineData("1st", "T1st")]
    [InlineData("::", "T")]
    public void Tensor_and_file_names_become_PascalCase_identifiers(string name, string identifier) =>
        Assert.Equal(identifier, ContractScaffolder.Identifier(name));
}
