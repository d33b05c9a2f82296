using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace InProcServe.AspNetCore;

/// <summary>
/// Applies <c>InProcServe:OpenInference</c> from configuration over what code set, and validates the result on start
/// with one message naming every bad value. Read by hand, as the core reads its model options: the configuration
/// binder needs reflection (the sample publishes as Native AOT) and stops at the first bad value.
/// </summary>
internal sealed class OpenInferenceConfiguration(IConfiguration? configuration) : IPostConfigureOptions<OpenInferenceOptions>, IValidateOptions<OpenInferenceOptions>
{
    internal const string Section = "InProcServe:OpenInference";

    private readonly List<string> errors = [];

    public void PostConfigure(string? name, OpenInferenceOptions options)
    {
        errors.Clear();
        var section = configuration?.GetSection(Section);
        if (section is null || !section.Exists()) return;
        foreach (var setting in section.GetChildren())
        {
            switch (setting.Key.ToLowerInvariant())
            {
                case "maxrequestbodybytes": Integer(setting, v => options.MaxRequestBodyBytes = v); break;
                case "maxelementsperrequest": Integer(setting, v => options.MaxElementsPerRequest = v); break;
                case "largerequestbytes": Integer(setting, v => options.LargeRequestBytes = v); break;
                case "maxconcurrentlargerequests": Integer(setting, v => options.MaxConcurrentLargeRequests = v); break;
                case "retryafter":
                    if (TimeSpan.TryParse(setting.Value, CultureInfo.InvariantCulture, out var retry)) options.RetryAfter = retry;
                    else errors.Add($"{setting.Path} is '{setting.Value}'; it must be a time span such as 00:00:01.");
                    break;
                case "servetypedmodels": Boolean(setting, v => options.ServeTypedModels = v); break;
                case "listmodelsinerrors": Boolean(setting, v => options.ListModelsInErrors = v); break;
                case "repositoryapi": Boolean(setting, v => options.RepositoryApi = v); break;
                case "servername": options.ServerName = setting.Value ?? ""; break;
                case "hiddenmodels":
                    // A list ("HiddenModels:0": "a") or one comma-separated value ("HiddenModels": "a,b").
                    foreach (var model in setting.Value is { } list ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : setting.GetChildren().Select(c => c.Value ?? ""))
                    {
                        options.HiddenModels.Add(model);
                    }

                    break;
                default:
                    errors.Add($"{setting.Path} is not a setting; the settings are MaxRequestBodyBytes, MaxElementsPerRequest, LargeRequestBytes, MaxConcurrentLargeRequests, RetryAfter, ServeTypedModels, ListModelsInErrors, RepositoryApi, ServerName, HiddenModels.");
                    break;
            }
        }
    }

    public ValidateOptionsResult Validate(string? name, OpenInferenceOptions options)
    {
        var all = new List<string>(errors);
        if (options.MaxRequestBodyBytes < 1) all.Add($"MaxRequestBodyBytes is {options.MaxRequestBodyBytes}; it must be 1 or more.");
        if (options.MaxElementsPerRequest < 1) all.Add($"MaxElementsPerRequest is {options.MaxElementsPerRequest}; it must be 1 or more.");
        if (options.LargeRequestBytes < 0) all.Add($"LargeRequestBytes is {options.LargeRequestBytes}; it must be 0 or more.");
        if (options.MaxConcurrentLargeRequests < 0) all.Add($"MaxConcurrentLargeRequests is {options.MaxConcurrentLargeRequests}; it must be 0 (no large bodies) or more.");
        if (options.RetryAfter < TimeSpan.Zero) all.Add($"RetryAfter is {options.RetryAfter}; it must not be negative.");
        return all.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail($"The Open Inference Protocol's options ({Section}) are invalid: {string.Join(" ", all)}");
    }

    private void Integer(IConfigurationSection setting, Action<int> set)
    {
        if (int.TryParse(setting.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)) set(value);
        else errors.Add($"{setting.Path} is '{setting.Value}'; it must be a whole number.");
    }

    private void Boolean(IConfigurationSection setting, Action<bool> set)
    {
        if (bool.TryParse(setting.Value, out var value)) set(value);
        else errors.Add($"{setting.Path} is '{setting.Value}'; it must be true or false.");
    }
}
