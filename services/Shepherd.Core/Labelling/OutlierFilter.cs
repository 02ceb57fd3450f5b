using Shepherd.Core.Policy;

namespace Shepherd.Core.Labelling;

/// <summary>Which reading of the paper's outlier sentence (appendix C.1) counts a query's flagged levels.</summary>
public enum OutlierReading
{
    /// <summary>
    /// The fewest of the 11 outcomes (levels 0–90 % and the full answer) that must change for the ladder to become
    /// one step from fail to pass: a clean ladder scores 0 wherever its step is, a one-level fluke 1, alternations
    /// high. The default: it flags inconsistency as the hint grows, not where n* lies.
    /// </summary>
    Step,

    /// <summary>Levels whose outcome differs from the training set's majority outcome at that level.</summary>
    LevelMajority,

    /// <summary>Levels in the query's own minority class: min(passing, failing) across its ladder (the old filter).</summary>
    QueryMinority,
}

/// <summary>
/// The paper's outlier filter over the 11 hint settings (paper.md, "Labels"; appendix C.1): each query's levels are
/// flagged under an <see cref="OutlierReading"/>, and a query whose flag count reaches the threshold is dropped
/// (gsm8k and cnk12 only).
/// </summary>
public static class OutlierFilter
{
    /// <summary>Tasks the paper filters.</summary>
    public static bool Applies(string task) => task is "gsm8k" or "cnk12";

    /// <summary>The default threshold of a reading: a lone fluke is tolerated by <see cref="OutlierReading.Step"/>.</summary>
    public static int DefaultThreshold(OutlierReading reading) => reading == OutlierReading.Step ? 2 : 4;

    public static string Name(OutlierReading reading) => reading switch
    {
        OutlierReading.Step => "step",
        OutlierReading.LevelMajority => "level-majority",
        _ => "query-minority",
    };

    public static OutlierReading Parse(string name) => name switch
    {
        "step" => OutlierReading.Step,
        "level-majority" => OutlierReading.LevelMajority,
        "query-minority" => OutlierReading.QueryMinority,
        _ => throw new ArgumentException($"unknown outlier reading '{name}' (step, level-majority or query-minority)"),
    };

    /// <summary>The ladder's outcomes, lowest hint first, then the full answer (<c>llm_passed</c>) when known.</summary>
    public static bool[] Outcomes(LabelRecord record) =>
        record.LlmPassed is { } full ? [.. record.Levels.Select(l => l.Passed), full] : [.. record.Levels.Select(l => l.Passed)];

    /// <summary>The fewest outcomes to change so the ladder is fail…fail pass…pass (a step anywhere, or none).</summary>
    public static int StepFlags(IReadOnlyList<bool> outcomes)
    {
        // Step before index s: passes before s and failures from s on must change.
        var failsFromHere = outcomes.Count(o => !o);
        var passesBefore = 0;
        var best = failsFromHere;
        foreach (var outcome in outcomes)
        {
            passesBefore += outcome ? 1 : 0;
            failsFromHere -= outcome ? 0 : 1;
            best = Math.Min(best, passesBefore + failsFromHere);
        }

        return best;
    }

    public static int QueryMinorityFlags(IReadOnlyList<bool> outcomes)
    {
        var passes = outcomes.Count(o => o);
        return Math.Min(passes, outcomes.Count - passes);
    }

    /// <summary>Per position, whether most of the records pass there (ties count as pass).</summary>
    public static bool[] LevelMajority(IEnumerable<LabelRecord> records)
    {
        var ladders = records.Where(r => Applies(r.Task)).Select(Outcomes).ToArray();
        var width = ladders.Length == 0 ? 0 : ladders.Max(l => l.Length);
        return [.. Enumerable.Range(0, width).Select(i =>
        {
            var at = ladders.Where(l => l.Length > i).ToArray();
            return at.Count(l => l[i]) * 2 >= at.Length;
        })];
    }

    /// <summary>The flag count of one record; <paramref name="majority"/> is needed by <see cref="OutlierReading.LevelMajority"/>.</summary>
    public static int Flags(LabelRecord record, OutlierReading reading, IReadOnlyList<bool>? majority = null)
    {
        var outcomes = Outcomes(record);
        return reading switch
        {
            OutlierReading.Step => StepFlags(outcomes),
            OutlierReading.QueryMinority => QueryMinorityFlags(outcomes),
            _ => outcomes.Where((o, i) => i < (majority ?? throw new ArgumentNullException(nameof(majority))).Count && o != majority[i]).Count(),
        };
    }

    /// <summary>Each filtered record's flag count under the reading (the majority taken over these records).</summary>
    public static IReadOnlyList<(LabelRecord Record, int Flags)> Count(IReadOnlyList<LabelRecord> records, OutlierReading reading)
    {
        var majority = reading == OutlierReading.LevelMajority ? LevelMajority(records) : null;
        return [.. records.Where(r => Applies(r.Task)).Select(r => (r, Flags(r, reading, majority)))];
    }

    /// <summary>flag count → records, 0 … the largest count seen.</summary>
    public static int[] Histogram(IReadOnlyList<(LabelRecord Record, int Flags)> counts)
    {
        var histogram = new int[counts.Count == 0 ? 1 : counts.Max(c => c.Flags) + 1];
        foreach (var (_, flags) in counts)
        {
            histogram[flags]++;
        }

        return histogram;
    }

    /// <summary>How many of the records the reading drops at the threshold.</summary>
    public static int Dropped(IReadOnlyList<LabelRecord> records, OutlierReading reading, int threshold) =>
        threshold <= 0 ? 0 : Count(records, reading).Count(c => c.Flags >= threshold);
}
