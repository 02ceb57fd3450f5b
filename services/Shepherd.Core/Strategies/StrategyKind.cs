namespace Shepherd.Core.Strategies;

/// <summary>
/// The seven serving strategies (README, "The public API"), then the three oracles, which only replay computes:
/// bounds a strategy could reach knowing each query's labels (paper.md, "Results to beat"), never served.
/// </summary>
public enum StrategyKind
{
    Slm = 1,
    Llm,
    Route,
    CascadeAbc,
    CascadeScorer,
    Proactive,
    Reactive,
    Oracle,
    OracleRoute,
    OracleCascade,
}

/// <summary>
/// The one table of strategy names: wire names in requests, label files, reports, the ledger and the CLI.
/// Proto enums are mapped to <see cref="StrategyKind"/> in the orchestrator's Grpc/ mappers, never by name.
/// </summary>
public static class StrategyNames
{
    /// <summary>The serving strategies (no oracle).</summary>
    public static IReadOnlyList<StrategyKind> All { get; } = Enum.GetValues<StrategyKind>().Where(s => !s.IsOracle()).ToArray();

    /// <summary>What replay evaluates: the serving strategies, then the oracles.</summary>
    public static IReadOnlyList<StrategyKind> Evaluated { get; } = Enum.GetValues<StrategyKind>();

    /// <summary>The serving strategies' wire names in the order reports list them.</summary>
    public static IReadOnlyList<string> Wire { get; } = All.Select(ToWire).ToArray();

    public static string ToWire(this StrategyKind strategy) => strategy switch
    {
        StrategyKind.Slm => "slm",
        StrategyKind.Llm => "llm",
        StrategyKind.Route => "route",
        StrategyKind.CascadeAbc => "cascade-abc",
        StrategyKind.CascadeScorer => "cascade-scorer",
        StrategyKind.Proactive => "proactive",
        StrategyKind.Reactive => "reactive",
        StrategyKind.Oracle => "oracle",
        StrategyKind.OracleRoute => "oracle-route",
        StrategyKind.OracleCascade => "oracle-cascade",
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown strategy."),
    };

    public static bool IsOracle(this StrategyKind strategy) => strategy >= StrategyKind.Oracle;

    /// <summary>Strategies with tunable operating points (the others are single points).</summary>
    public static bool IsTunable(this StrategyKind strategy) =>
        strategy is StrategyKind.Route or StrategyKind.CascadeAbc or StrategyKind.CascadeScorer or StrategyKind.Proactive or StrategyKind.Reactive;

    /// <summary>A serving strategy's wire name (an oracle's is not accepted: it cannot be served).</summary>
    public static bool TryParse(string? text, out StrategyKind strategy)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.ToWire(), text?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                strategy = candidate;
                return true;
            }
        }

        strategy = default;
        return false;
    }

    public static StrategyKind Parse(string text) =>
        TryParse(text, out var strategy) ? strategy : throw new FormatException($"Unknown strategy '{text}': expected one of {string.Join(", ", Wire)}.");

    /// <summary>The position of a strategy in reports (unknown names last).</summary>
    public static int Order(string name) => TryParse(name, out var strategy) ? (int)strategy - 1 : All.Count;
}
