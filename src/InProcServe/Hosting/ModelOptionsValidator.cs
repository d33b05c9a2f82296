using Microsoft.Extensions.Options;

namespace InProcServe;

/// <summary>Checks a model's options when the host starts (<c>ValidateOnStart</c>): one failure naming the model and every invalid value.</summary>
internal sealed class ModelOptionsValidator : IValidateOptions<ModelOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelOptions options)
    {
        // Only AddModel's configuration sets the name; options of other names belong to no model.
        if (options.Name.Length == 0) return ValidateOptionsResult.Skip;
        var errors = new List<string>();
        options.AddErrors(errors);
        return errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Model '{options.Name}': invalid options (code, or configuration section InProcServe:Models:{options.Name}):{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", errors)}");
    }
}
