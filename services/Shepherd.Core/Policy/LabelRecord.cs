using System.Text.Json.Serialization;

namespace Shepherd.Core.Policy;

/// <summary>Which part of the data a labelled query belongs to.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LabelSplit>))]
public enum LabelSplit
{
    [JsonStringEnumMemberName("train")]
    Train,

    [JsonStringEnumMemberName("validation")]
    Validation,

    [JsonStringEnumMemberName("test")]
    Test,
}

/// <summary>One rung of the hint ladder: the SLM's outcome with a hint of <see cref="HintTokens"/> LLM tokens.</summary>
public sealed record LabelLevel
{
    /// <summary>p: the hint level in percent of |h_l(q)|, 0, 10, …, 90.</summary>
    public required int Percent { get; init; }

    /// <summary>n_p = ⌊p/100 · |h_l(q)|⌋, in LLM tokens.</summary>
    [JsonPropertyName("n_p")]
    public required int HintTokens { get; init; }

    /// <summary>Whether the SLM's answer with this hint passed (majority over the trials).</summary>
    public required bool Passed { get; init; }

    /// <summary>Optional: the share of trials that passed, in [0, 1].</summary>
    public double? PassRate { get; init; }

    /// <summary>Optional (replay): mean SLM answer length with this hint, in SLM tokens; else the record's <c>slm_answer_tokens</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SlmAnswerTokens { get; init; }
}

/// <summary>
/// One labelled query: a line of the label file (docs/labels.md). The labelling pipeline writes it; the policy
/// trainer reads it.
/// </summary>
/// <summary>One of the K unhinted SLM samples: its extracted answer key, correctness, mean entropy and length.</summary>
public sealed record LabelSample
{
    /// <summary>The extracted answer key (null when the sample had no answer).</summary>
    public string? Key { get; init; }

    public required bool Passed { get; init; }

    /// <summary>The sample's mean token entropy.</summary>
    public required double Entropy { get; init; }

    /// <summary>The sample's length in SLM tokens.</summary>
    public required int Tokens { get; init; }
}

public sealed record LabelRecord
{
    /// <summary>n* value meaning "no hint level passed"; the size target is then |h_l(q)| (paper.md, "Labels").</summary>
    public const int NoHintSufficed = -1;

    public required string Id { get; init; }

    public required string Query { get; init; }

    /// <summary>The task kind: gsm8k, cnk12, humaneval, mbpp or generic.</summary>
    public required string Task { get; init; }

    /// <summary>n*(q) in LLM tokens: the smallest passing n_p; 0 = no hint needed; -1 = no hint sufficed.</summary>
    [JsonPropertyName("n_star")]
    public required int NStar { get; init; }

    /// <summary>|h_l(q)|: the length of the LLM's full answer, in LLM tokens.</summary>
    public required int LlmAnswerTokens { get; init; }

    /// <summary>The hint ladder, lowest level first. May be empty when only n* is known.</summary>
    public IReadOnlyList<LabelLevel> Levels { get; init; } = [];

    /// <summary>Numeric features by name (see <see cref="PolicyFeatureNames"/>); reactive labels carry the SLM ones.</summary>
    public IReadOnlyDictionary<string, double> Features { get; init; } = new Dictionary<string, double>();

    public required LabelSplit Split { get; init; }

    // Replay fields (docs/labels.md, "Replay"): optional, so older files still train; `shepherd eval --mode replay`
    // and `shepherd calibrate` need them.

    /// <summary>Optional (replay): whether the LLM's full answer (temperature 0) passed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? LlmPassed { get; init; }

    /// <summary>Optional (replay): the LLM's billed prompt tokens for this query (|q| in the cost model).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? LlmPromptTokens { get; init; }

    /// <summary>Optional (replay): the SLM's prompt tokens without a hint.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? SlmPromptTokens { get; init; }

    /// <summary>Optional (replay): the mean SLM answer length without a hint, in SLM tokens.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SlmAnswerTokens { get; init; }

    /// <summary>Optional (replay): how many independent SLM trials each level's <c>passed</c> is the majority of.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Trials { get; init; }

    /// <summary>Optional (replay): K, the SLM consensus samples drawn (temperature 0.3).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Samples { get; init; }

    /// <summary>Optional (replay): the largest number of the K samples sharing one extracted answer key (0 when none had an answer).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? AgreeMax { get; init; }

    /// <summary>Optional (replay): whether that majority answer is correct.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? ConsensusPassed { get; init; }

    /// <summary>How the ladder's hints were bought: <c>prefix</c> (cut from the one full answer) or <c>calls</c> (one
    /// call per level, by choice or after a failed prefix check).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Ladder { get; init; }

    /// <summary>Why the prefix-ladder check failed (the record fell back to calls, or was flagged); null when it passed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LadderCheck { get; init; }

    /// <summary>Each of the K samples in draw order, so any k-of-N (N ≤ K) cascade and one-sample scorers replay exactly.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<LabelSample>? SampleAnswers { get; init; }

    /// <summary>y(q) = 1[n*(q) &gt; 0]; "no hint sufficed" counts as needing one (the full answer).</summary>
    [JsonIgnore]
    public bool NeedsHint => NStar != 0;

    /// <summary>The n* the size head learns: n* itself, or |h_l(q)| when no hint sufficed.</summary>
    [JsonIgnore]
    public int EffectiveNStar => NStar == NoHintSufficed ? LlmAnswerTokens : NStar;

    /// <summary>Null when the record is consistent, else the reason.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return "'id' must not be empty";
        }

        if (Query is null)
        {
            return "'query' must not be null";
        }

        if (string.IsNullOrWhiteSpace(Task))
        {
            return "'task' must not be empty";
        }

        if (NStar < NoHintSufficed)
        {
            return $"'n_star' must be >= -1 (-1 = no hint sufficed), got {NStar}";
        }

        if (LlmAnswerTokens < 0)
        {
            return $"'llm_answer_tokens' must be >= 0, got {LlmAnswerTokens}";
        }

        if (NStar > LlmAnswerTokens)
        {
            return $"'n_star' ({NStar}) exceeds 'llm_answer_tokens' ({LlmAnswerTokens})";
        }

        if (!Enum.IsDefined(Split))
        {
            return "'split' must be train, validation or test";
        }

        if (LlmPromptTokens < 0 || SlmPromptTokens < 0 || Trials < 1 || Samples < 1 || AgreeMax < 0
            || SlmAnswerTokens is { } answerTokens && !(answerTokens >= 0 && double.IsFinite(answerTokens)))
        {
            return "replay fields: token counts must be >= 0, 'trials' and 'samples' >= 1";
        }

        if (AgreeMax > Samples)
        {
            return $"'agree_max' ({AgreeMax}) exceeds 'samples' ({Samples})";
        }

        if (SampleAnswers is { } answers && (answers.Count != Samples || answers.Any(a => a.Tokens < 0 || !double.IsFinite(a.Entropy))))
        {
            return "'sample_answers' must hold 'samples' entries with tokens >= 0 and a finite entropy";
        }

        foreach (var level in Levels ?? [])
        {
            if (level.Percent is < 0 or > 100 || level.HintTokens < 0)
            {
                return $"level {level.Percent}% / n_p {level.HintTokens} is out of range";
            }

            if (level.SlmAnswerTokens is { } levelTokens && !(levelTokens >= 0 && double.IsFinite(levelTokens)))
            {
                return $"level {level.Percent}%: 'slm_answer_tokens' must be >= 0";
            }

            if (level.PassRate is { } rate && !(rate >= 0 && rate <= 1))
            {
                return $"level {level.Percent}%: 'pass_rate' must be in [0, 1]";
            }
        }

        foreach (var (name, value) in Features ?? new Dictionary<string, double>())
        {
            if (!double.IsFinite(value))
            {
                return $"feature '{name}' is not a finite number";
            }
        }

        return null;
    }
}
