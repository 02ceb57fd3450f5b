using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Shepherd.Core.Evaluation;

namespace Shepherd.Reports;

/// <summary>The report as markdown (results.md), CSV (results.csv) and JSON (results.json).</summary>
public static class ReportWriters
{
    public const string MarkdownFileName = "results.md";
    public const string CsvFileName = "results.csv";
    public const string JsonFileName = "results.json";
    public const string PlotFileName = "frontier.png";

    /// <summary>The CSV columns: one row per table row, with that strategy's cheapest point at the floor.</summary>
    public const string CsvHeader =
        "strategy,operating_point,role,queries,cost_usd,cost_per_1k_usd,accuracy_percent,cost_reduction_percent,ace,slm_answers,hinted,llm_answers,floor_cost_usd,floor_operating_point";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Writes results.md, results.csv, results.json and frontier.png into <paramref name="directory"/>; returns the paths.</summary>
    public static IReadOnlyList<string> WriteAll(EvaluationReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        var paths = new[] { MarkdownFileName, CsvFileName, JsonFileName, PlotFileName }.Select(f => Path.Combine(directory, f)).ToArray();
        File.WriteAllText(paths[0], Markdown(report), utf8);
        File.WriteAllText(paths[1], Csv(report), utf8);
        File.WriteAllText(paths[2], Json(report), utf8);
        FrontierPlot.SavePng(report, paths[3]);
        return paths;
    }

    public static string Markdown(EvaluationReport report)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(report.Title).Append("\n\n");
        md.Append(Invariant, $"{report.Queries} queries, {report.Mode}, scoring {report.Scoring}. Cost in $ for the whole set and per 1,000 queries; cost reduction and ACE against LLM-only (paper.md).\n\n");
        md.Append("| strategy | operating point | cost $ | $ / 1k queries | accuracy % | cost reduction % | ACE |\n");
        md.Append("|---|---|---:|---:|---:|---:|---:|\n");
        foreach (var r in report.Rows)
        {
            md.Append(Invariant, $"| {r.Strategy} | {Cell(r.Parameters)} | {r.CostUsd:F6} | {r.CostPer1kUsd:F4} | {r.AccuracyPercent:F1} | {Number(r.CostReductionPercent, "F1")} | {Number(r.Ace, "F2")} |\n");
        }

        md.Append(Invariant, $"\n## Minimum cost at an accuracy floor of {report.FloorFraction:0.###} × LLM-only = {report.FloorAccuracyPercent:F1} %\n\n");
        md.Append("| strategy | cheapest operating point | cost $ | $ / 1k queries | accuracy % | cost reduction % | points searched |\n");
        md.Append("|---|---|---:|---:|---:|---:|---:|\n");
        foreach (var f in report.Floors)
        {
            md.Append(Invariant, $"| {f.Strategy} | {(f.CostUsd is null ? "does not reach the floor" : Cell(f.Parameters ?? ""))} | {Number(f.CostUsd, "F6")} | {Number(f.CostPer1kUsd, "F4")} | {Number(f.AccuracyPercent, "F1")} | {Number(f.CostReductionPercent, "F1")} | {f.PointsSearched} |\n");
        }

        if (report.Notes.Count > 0)
        {
            md.Append("\n## Notes\n\n");
            foreach (var note in report.Notes)
            {
                md.Append("- ").Append(note).Append('\n');
            }
        }

        return md.ToString();
    }

    public static string Csv(EvaluationReport report)
    {
        var csv = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in report.Rows)
        {
            var floor = report.Floor(r.Strategy);
            csv.AppendJoin(',',
                    Field(r.Strategy),
                    Field(r.Parameters),
                    Field(r.Role),
                    r.Queries.ToString(Invariant),
                    R(r.CostUsd),
                    R(r.CostPer1kUsd),
                    R(r.AccuracyPercent),
                    R(r.CostReductionPercent),
                    R(r.Ace),
                    r.SlmAnswers.ToString(Invariant),
                    r.Hinted.ToString(Invariant),
                    r.LlmAnswers.ToString(Invariant),
                    R(floor?.CostUsd),
                    Field(floor?.Parameters ?? ""))
                .Append('\n');
        }

        return csv.ToString();
    }

    public static string Json(EvaluationReport report) => JsonSerializer.Serialize(report, JsonOptions) + "\n";

    public static EvaluationReport? ReadJson(string json) => JsonSerializer.Deserialize<EvaluationReport>(json, JsonOptions);

    private static string Number(double? value, string format) => value is { } v ? v.ToString(format, Invariant) : "n/a";

    private static string Cell(string text) => text.Length == 0 ? "–" : text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string R(double? value) => value is { } v ? v.ToString("R", Invariant) : "";

    /// <summary>RFC 4180: quote a field holding a comma, a quote or a line break.</summary>
    private static string Field(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
}
