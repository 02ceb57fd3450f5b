namespace Shepherd.Core.Evaluation;

/// <summary>One query answered live by one strategy: graded, with the USD the response reported.</summary>
/// <param name="AnsweredBy">"slm" (alone), "hinted" (an LLM hint, then the SLM) or "llm" (the LLM's full answer).</param>
public sealed record LiveResult(string Strategy, string QueryId, bool Passed, double CostUsd, string AnsweredBy);

/// <summary>
/// The paper's table from live answers (`shepherd eval --mode live`): each strategy runs at its deployed operating
/// point, so every curve is a single point and the floor row says whether that point reaches the floor. Needs the
/// slm and llm strategies among the results: they are the endpoints ACE and cost reduction are measured against.
/// </summary>
public static class LiveReport
{
    public static EvaluationReport Build(string title, IReadOnlyList<LiveResult> results, double floorFraction, IReadOnlyList<string> notes)
    {
        var byStrategy = results.GroupBy(r => r.Strategy).ToDictionary(g => g.Key, g => g.ToArray());
        if (!byStrategy.ContainsKey("slm") || !byStrategy.ContainsKey("llm"))
        {
            throw new ArgumentException("live evaluation needs the slm and llm strategies (the table's endpoints)");
        }

        var queries = byStrategy["llm"].Length;
        var slm = Summarise(byStrategy["slm"]);
        var llm = Summarise(byStrategy["llm"]);
        var floorAccuracy = floorFraction * llm.Accuracy;
        var rows = new List<ReportRow>();
        var floors = new List<FloorRow>();
        var curves = new List<StrategyCurve>();
        foreach (var (strategy, answers) in byStrategy.OrderBy(kv => Order(kv.Key)))
        {
            var s = Summarise(answers);
            var role = strategy is "slm" or "llm" ? "endpoint" : "strategy";
            rows.Add(new ReportRow(
                strategy, "deployed", role, answers.Length, s.Cost, 1000 * s.Cost / answers.Length, 100 * s.Accuracy,
                AccuracyPerCost.CostReductionPercent(s.Cost, llm.Cost),
                strategy == "slm" ? null : AccuracyPerCost.Ace(s.Accuracy, s.Cost, slm.Accuracy, llm.Accuracy, llm.Cost),
                answers.Count(a => a.AnsweredBy == "slm"), answers.Count(a => a.AnsweredBy == "hinted"), answers.Count(a => a.AnsweredBy == "llm")));
            var reaches = s.Accuracy >= floorAccuracy - 1e-12;
            floors.Add(new FloorRow(
                strategy, reaches ? "deployed" : null, reaches ? s.Cost : null, reaches ? 1000 * s.Cost / answers.Length : null,
                reaches ? 100 * s.Accuracy : null, reaches ? AccuracyPerCost.CostReductionPercent(s.Cost, llm.Cost) : null, 1));
            if (role == "strategy")
            {
                var point = new CurvePoint(s.Cost, 1000 * s.Cost / answers.Length, 100 * s.Accuracy, "deployed");
                curves.Add(new StrategyCurve(strategy, [point]) { Points = [point] });
            }
        }

        var allNotes = notes.ToList();
        if (!(llm.Accuracy > slm.Accuracy))
        {
            allNotes.Add("LLM-only is not more accurate than SLM-only here, so ACE is undefined or meaningless");
        }

        return new EvaluationReport(title, "live", queries, "live answers graded by the task's grader", floorFraction, 100 * floorAccuracy, rows, floors, curves, allNotes);
    }

    private static (double Cost, double Accuracy) Summarise(IReadOnlyList<LiveResult> answers) =>
        (answers.Sum(a => a.CostUsd), answers.Count == 0 ? 0 : answers.Count(a => a.Passed) / (double)answers.Count);

    private static int Order(string strategy) => Strategies.StrategyNames.Order(strategy);
}
