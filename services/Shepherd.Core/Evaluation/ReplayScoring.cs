namespace Shepherd.Core.Evaluation;

/// <summary>How a label's SLM trials become a query's correctness.</summary>
public enum ReplayScoring
{
    /// <summary>Each level's <c>passed</c>: the majority over the record's trials (the paper's majority of 7 when labelled with 7).</summary>
    Majority,

    /// <summary>Each level's <c>pass_rate</c>: the expected correctness of a single trial, a fraction in [0, 1].</summary>
    PassRate,
}

/// <summary>Replay's prices and scoring.</summary>
public sealed record ReplayOptions
{
    /// <summary>c_in_l, c_out_l. Default: the paper's Groq prices for Llama-3.3-70B-Versatile.</summary>
    public Cost.ModelPrice LlmPrice { get; init; } = new(0.59, 0.79);

    /// <summary>c_in_s, c_out_s. Default: free, a local open model.</summary>
    public Cost.ModelPrice SlmPrice { get; init; } = Cost.PriceTable.Free;

    public ReplayScoring Scoring { get; init; } = ReplayScoring.Majority;

    /// <summary>cascade-scorer without reactive scores: confidence = exp(−ē / scale), as the orchestrator's fallback.</summary>
    public double EntropyScale { get; init; } = 1.0;

    /// <summary>
    /// When set (<c>--trials N</c>): the trials per query the evaluation asks for. Records must say they hold
    /// exactly N trials (field <c>trials</c>, absent = 1), so Majority scoring is the majority of N; N = 1 against
    /// records of more trials scores by <c>pass_rate</c>, the expected single-trial correctness.
    /// </summary>
    public int? Trials { get; init; }

    /// <summary>The scoring actually used for a record holding <paramref name="recordTrials"/> trials.</summary>
    public ReplayScoring ScoringFor(int recordTrials, string id)
    {
        if (Trials is not { } wanted || wanted == recordTrials)
        {
            return Scoring;
        }

        if (wanted == 1)
        {
            return ReplayScoring.PassRate;
        }

        throw new ReplayDataException(id, $"the labels hold {recordTrials} trial(s) per level but --trials {wanted} was asked; relabel with --trials {wanted}");
    }
}

/// <summary>A label record lacks what replay needs; the message names the record.</summary>
public sealed class ReplayDataException(string id, string reason)
    : Exception($"label '{id}': {reason}")
{
    public string RecordId { get; } = id;
}
