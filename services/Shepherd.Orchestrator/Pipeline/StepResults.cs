using Shepherd.Core.Cost;
using Shepherd.Llm;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>One SLM completion as the pipeline needs it.</summary>
public sealed record SlmText(string Text, int GeneratedTokens, double MeanEntropy);

/// <summary>What one slm-service call gave (n completions of one prompt; they share the prefill).</summary>
public sealed record SlmResult(string Model, int PromptTokens, IReadOnlyList<SlmText> Completions)
{
    public long GeneratedTokens => Completions.Sum(c => (long)c.GeneratedTokens);
}

/// <summary>What the policy-service predicted and decided under the α and η it applied.</summary>
public sealed record PolicyResult(double PHint, double RawSize, string BundleId, double Alpha, int EtaHint, int HintTokens, bool RouteToLlm, int QueryLength);
