using System.CommandLine;
using Shepherd.Cli.Evaluation;
using Shepherd.Core.Evaluation;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd eval --mode replay --labels TEST --bundle B [--reactive-bundle R] --out DIR</c>: every strategy's
/// cost and accuracy recomputed from labels (docs/labels.md, "Replay"); prints the paper's table and writes
/// results.md, results.csv, results.json and frontier.png.
/// </summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { Description = "replay: from a label file, at zero cost; live: through the edge", DefaultValueFactory = _ => "replay" };
        mode.AcceptOnlyFromAmong("replay", "live");
        var labels = new Option<FileInfo>("--labels") { Description = "Test label JSONL with the replay fields (docs/labels.md)", Required = true };
        var split = new Option<string>("--split") { Description = "Which records to evaluate", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("train", "validation", "test", "all");
        var bundle = new Option<DirectoryInfo>("--bundle") { Description = "Policy bundle (proactive, or reactive when it is the only one)", Required = true };
        var reactiveBundle = new Option<DirectoryInfo?>("--reactive-bundle") { Description = "A reactive bundle besides a proactive --bundle" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory for results.md, results.csv, results.json, frontier.png", Required = true };
        var floor = new Option<double>("--floor") { Description = "Accuracy floor as a fraction of LLM-only accuracy", DefaultValueFactory = _ => 0.9 };
        var agree = new Option<int?>("--agree") { Description = "k agreeing samples for cascade-abc and reactive (default: the task's preset)" };
        var scorer = new Option<double>("--scorer-threshold") { Description = "cascade-scorer's θ for the table (Orchestrator:ScorerThreshold)", DefaultValueFactory = _ => 0.5 };
        var title = new Option<string?>("--title") { Description = "Report title" };
        var replay = new ReplayCliOptions();
        var command = new Command("eval", "Evaluate every strategy: the paper's table, floor costs, frontier plot")
        {
            mode, labels, split, bundle, reactiveBundle, output, floor, agree, scorer, title,
        };
        replay.AddTo(command);
        command.SetAction((parse, ct) => ReplayRunner.Guard(() =>
        {
            if (parse.GetValue(mode) == "live")
            {
                throw new InvalidOperationException("--mode live is not available in this build; use --mode replay with a label file");
            }

            var labelFile = parse.GetRequiredValue(labels).FullName;
            var records = ReplayRunner.ReadLabels(labelFile, parse.GetValue(split)!);
            var settings = new ReportSettings
            {
                Title = parse.GetValue(title) ?? $"Shepherd replay: {Path.GetFileName(labelFile)} ({records.Count} queries)",
                FloorFraction = parse.GetValue(floor),
                ScorerThreshold = parse.GetValue(scorer),
            };
            var options = replay.Read(parse);
            var report = ReplayRunner.Evaluate(records, parse.GetRequiredValue(bundle).FullName, parse.GetValue(reactiveBundle)?.FullName, options, settings, parse.GetValue(agree), ct);
            ReportConsole.Write(report);
            var paths = ReportWriters.WriteAll(report, parse.GetRequiredValue(output).FullName);
            AnsiConsole.MarkupLine($"[green]wrote {string.Join(", ", paths.Select(p => Markup.Escape(p)))}[/]");
            return 0;
        }));
        return command;
    }
}
