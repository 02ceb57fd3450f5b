namespace Shepherd.Core.Strategies;

/// <summary>The seven serving strategies (README, "The public API").</summary>
public enum StrategyKind
{
    Slm = 1,
    Llm,
    Route,
    CascadeAbc,
    CascadeScorer,
    Proactive,
    Reactive,
}

/// <summary>
/// The one table of strategy names: wire names in requests, label files, reports, the ledger and the CLI.
/// Proto enums are mapped to <see cref="StrategyKind"/> in the orchestrator's Grpc/ mappers, never by name.
/// </summary>
public static class StrategyNames
{
    public static IReadOnlyList<StrategyKind> All { get; } = Enum.GetValues<StrategyKind>();

    /// <summary>The wire names in the order reports list them.</summary>
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
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown strategy."),
    };

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
