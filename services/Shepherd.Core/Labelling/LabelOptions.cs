namespace Shepherd.Core.Labelling;

/// <summary>How hints are bought for the ladder.</summary>
public enum LadderMode
{
    /// <summary>One LLM call for the full answer; level hints are its prefixes (we pay once per query).</summary>
    Prefix,
    /// <summary>The paper's protocol: one max_completion_tokens = n_p call per level (paid per level).</summary>
    Calls,
}

/// <summary>What a record whose prefix-ladder check fails gets.</summary>
public enum PrefixCheckFailure
{
    /// <summary>Per-level calls for that record (paid), so its ladder is the paper's.</summary>
    Fallback,
    /// <summary>The prefix ladder anyway, the record flagged with the reason (<c>ladder_check</c>).</summary>
    Flag,
}

/// <summary>Labelling settings; defaults follow paper.md ("Labels", "Two modes", "Prompts").</summary>
public sealed record LabelOptions
{
    /// <summary>Hint levels in percent of |h_l|: 0, 10, …, 90.</summary>
    public IReadOnlyList<int> Levels { get; init; } = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90];

    public LadderMode Ladder { get; init; } = LadderMode.Prefix;

    /// <summary>A record failing the prefix-ladder check falls back to per-level calls, or is flagged.</summary>
    public PrefixCheckFailure OnPrefixCheckFailure { get; init; } = PrefixCheckFailure.Fallback;

    /// <summary>The prompt the LLM is billed for (<c>Llm:Prompt</c>), as serving sends it.</summary>
    public Tasks.LlmPromptStyle LlmPrompt { get; init; } = Tasks.LlmPromptStyle.Same;

    /// <summary>Tokens of the LLM's full answer.</summary>
    public int MaxAnswerTokens { get; init; } = Configuration.GenerationCaps.DefaultLlmMaxTokens;

    /// <summary>SLM trials per level; a level passes by majority (the paper uses 7).</summary>
    public int Trials { get; init; } = 1;

    /// <summary>K samples for the reactive features and the consensus outcome.</summary>
    public int Samples { get; init; } = 3;

    /// <summary>SLM temperature (paper: 0.3).</summary>
    public double Temperature { get; init; } = 0.3;

    /// <summary>
    /// Outlier filter (paper.md, "Labels"; appendix C.1): flag levels of the 11-outcome ladder under
    /// <see cref="OutlierReading"/> and drop the query when the count reaches this threshold. Applied to gsm8k and
    /// cnk12 only, as in the paper. 0 turns it off.
    /// </summary>
    public int OutlierThreshold { get; init; } = OutlierFilter.DefaultThreshold(OutlierReading.Step);

    /// <summary>How levels are flagged (default: the fewest changes to a one-step ladder).</summary>
    public OutlierReading OutlierReading { get; init; } = OutlierReading.Step;

    /// <summary>Drop queries that no hint helps while the LLM is wrong too (paper.md, "Labels").</summary>
    public bool DropUnhelpable { get; init; } = true;

    public void Validate()
    {
        if (Levels.Count == 0 || Levels.Any(l => l is < 0 or >= 100) || Levels.Distinct().Count() != Levels.Count)
        {
            throw new ArgumentException("levels must be distinct percentages in [0, 100)");
        }

        if (MaxAnswerTokens < 1 || Trials < 1 || Samples < 1 || Temperature is < 0 or > 2 || OutlierThreshold < 0)
        {
            throw new ArgumentException("max answer tokens, trials and samples must be >= 1; temperature in [0, 2]; outlier threshold >= 0");
        }
    }
}
