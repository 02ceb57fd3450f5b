namespace Shepherd.Core.Cost;

/// <summary>What one answer cost, split as paper.md's cost model splits it.</summary>
public sealed record CostBreakdown(double LlmInputUsd, double LlmOutputUsd, double SlmUsd)
{
    public static CostBreakdown Zero { get; } = new(0, 0, 0);

    public double TotalUsd => LlmInputUsd + LlmOutputUsd + SlmUsd;

    public CostBreakdown Add(CostBreakdown other) =>
        new(LlmInputUsd + other.LlmInputUsd, LlmOutputUsd + other.LlmOutputUsd, SlmUsd + other.SlmUsd);

    /// <summary>An LLM call billed from its usage: prompt_tokens·c_in + completion_tokens·c_out.</summary>
    public static CostBreakdown ForLlm(ModelPrice price, long promptTokens, long completionTokens) =>
        new(price.Input(promptTokens), price.Output(completionTokens), 0);

    /// <summary>An SLM call: prompt tokens (hint included) · c_in_s + generated tokens · c_out_s.</summary>
    public static CostBreakdown ForSlm(ModelPrice price, long promptTokens, long completionTokens) =>
        new(0, 0, price.Input(promptTokens) + price.Output(completionTokens));
}
