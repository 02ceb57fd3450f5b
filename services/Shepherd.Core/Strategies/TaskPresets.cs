namespace Shepherd.Core.Strategies;

/// <summary>Operating point of a strategy: α, η_hint, K samples and k agreeing.</summary>
public sealed record OperatingPoint(double Alpha, int EtaHint, int Samples, int Agree);

/// <summary>
/// The paper's reactive operating points (paper.md, Table 5): GSM8K η=58, α=0.228, agreement 3 of 3;
/// CNK12 η=60, α=0.349, 2 of 3; HumanEval η=110, α=0.228, 2 of 3; MBPP η=130, α=0.372, 2 of 3. The table's
/// "K" column is the number of agreeing samples the paper required; three samples are drawn in every case.
/// Generic tasks use GSM8K's point. A policy bundle's calibrated α and η take precedence where present.
/// </summary>
public static class TaskPresets
{
    public const int Samples = 3;

    /// <summary>cascade-abc as in the paper: N = 2 SLM answers; the LLM is asked unless both agree.</summary>
    public const int AbcSamples = 2;

    public static OperatingPoint For(string taskKind) => taskKind.ToLowerInvariant() switch
    {
        "cnk12" => new(0.349, 60, Samples, 2),
        "humaneval" => new(0.228, 110, Samples, 2),
        "mbpp" => new(0.372, 130, Samples, 2),
        _ => new(0.228, 58, Samples, 3),
    };
}
