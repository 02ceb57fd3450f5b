using Microsoft.Extensions.Options;

namespace Shepherd.Llm;

/// <summary>
/// Start-up fails when the configured LLM model has no price: a call to it would be paid and then fail to cost,
/// so it would never reach the ledger.
/// </summary>
public sealed class LlmPricingValidation : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options) =>
        PaidLlmFactory.MissingPrice(options) is { } missing ? ValidateOptionsResult.Fail(missing) : ValidateOptionsResult.Success;
}
