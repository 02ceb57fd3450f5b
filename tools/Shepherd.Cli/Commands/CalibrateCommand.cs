using System.CommandLine;
using Shepherd.Cli.Evaluation;
using Shepherd.Core.Evaluation;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd calibrate --bundle B --labels VAL [--target accuracy-floor|cost]</c>: grid-searches α and η_hint on
/// validation labels by replay (paper.md, "Calibration"), prints the frontier and writes the chosen point into
/// the bundle's policy.json.
/// </summary>
public static class CalibrateCommand
{
    public static Command Create()
    {
        var bundle = new Option<DirectoryInfo>("--bundle") { Description = "Policy bundle to calibrate (its policy.json is rewritten)", Required = true };
        var labels = new Option<FileInfo>("--labels") { Description = "Validation label JSONL with the replay fields (docs/labels.md)", Required = true };
        var split = new Option<string>("--split") { Description = "Which records to use", DefaultValueFactory = _ => "validation" };
        split.AcceptOnlyFromAmong("train", "validation", "test", "all");
        var target = new Option<string>("--target") { Description = "accuracy-floor: least cost reaching the floor; cost: most accurate within --cost-per-1k", DefaultValueFactory = _ => "accuracy-floor" };
        target.AcceptOnlyFromAmong("accuracy-floor", "cost");
        var floor = new Option<double>("--floor") { Description = "Accuracy floor as a fraction of LLM-only accuracy", DefaultValueFactory = _ => 0.9 };
        var costPer1k = new Option<double?>("--cost-per-1k") { Description = "Cost target in $ per 1,000 queries (with --target cost)" };
        var agree = new Option<int?>("--agree") { Description = "k agreeing samples for a reactive bundle (default: the task's preset)" };
        var etas = new Option<int>("--etas") { Description = "η_hint grid size over [0, N_max]", DefaultValueFactory = _ => 20 };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the frontier and the choice without writing the bundle" };
        var replay = new ReplayCliOptions();
        var command = new Command("calibrate", "Choose α and η_hint on validation labels by replay and write them into the bundle")
        {
            bundle, labels, split, target, floor, costPer1k, agree, etas, dryRun,
        };
        replay.AddTo(command);
        command.SetAction((parse, ct) => ReplayRunner.Guard(() =>
        {
            CalibrationTarget goal = parse.GetValue(target) == "cost"
                ? new CostTarget(parse.GetValue(costPer1k) ?? throw new InvalidOperationException("--target cost needs --cost-per-1k"))
                : new AccuracyFloorTarget(parse.GetValue(floor));
            var records = ReplayRunner.ReadLabels(parse.GetRequiredValue(labels).FullName, parse.GetValue(split)!);
            var directory = parse.GetRequiredValue(bundle).FullName;
            var write = !parse.GetValue(dryRun);
            var result = ReplayRunner.Calibrate(directory, records, goal, replay.Read(parse), parse.GetValue(agree), parse.GetValue(etas), write, ct);
            ReportConsole.Write(result);
            if (result.Chosen is null)
            {
                AnsiConsole.MarkupLine("[red]nothing written[/]");
                return 1;
            }

            AnsiConsole.MarkupLine(write
                ? $"[green]α={result.Chosen.Point.Alpha:0.###}, η_hint={result.Chosen.Point.EtaHint} written to {Markup.Escape(directory)}[/]"
                : "[grey]dry run: the bundle is unchanged[/]");
            return 0;
        }));
        return command;
    }
}
