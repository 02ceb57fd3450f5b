using System.CommandLine;
using Shepherd.Cli.Evaluation;
using Shepherd.Cli.Hosting;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using Shepherd.Reports;
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
        var labels = new Option<FileInfo?>("--labels") { Description = "replay: test label JSONL with the replay fields (docs/labels.md)" };
        var split = new Option<string>("--split") { Description = "Which records to evaluate", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("train", "validation", "test", "all");
        var bundle = new Option<DirectoryInfo?>("--bundle") { Description = "replay: policy bundle (proactive, or reactive when it is the only one)" };
        var reactiveBundle = new Option<DirectoryInfo?>("--reactive-bundle") { Description = "A reactive bundle besides a proactive --bundle" };
        var policyFrom = new Option<string?>("--policy-from") { Description = "replay: the bundles of a GSM8K reproduce run instead of --bundle: 'gsm8k' (.shepherd/reproduce/gsm8k) or its directory (HumanEval zero-shot, as in the paper)" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory for results.md, results.csv, results.json, frontier.png", Required = true };
        var floor = new Option<double>("--floor") { Description = "Accuracy floor as a fraction of LLM-only accuracy", DefaultValueFactory = _ => 0.9 };
        var agree = new Option<int?>("--agree") { Description = "k agreeing samples for cascade-abc and reactive (default: the task's preset)" };
        var scorer = new Option<double>("--scorer-threshold") { Description = "cascade-scorer's θ for the table (Orchestrator:ScorerThreshold)", DefaultValueFactory = _ => 0.5 };
        var title = new Option<string?>("--title") { Description = "Report title" };
        var dataset = new Option<string?>("--dataset") { Description = "live: gsm8k, cnk12, humaneval or mbpp" };
        var limit = new Option<int?>("--limit") { Description = "live: the first N queries of the split" };
        var strategies = new Option<string>("--strategies") { Description = "live: comma-separated strategies (slm and llm are always added)", DefaultValueFactory = _ => string.Join(',', LiveRunner.AllStrategies) };
        var address = UriOption.Create("--address", "live: the edge (default: start the local stack)");
        var apiKey = new Option<string?>("--api-key") { Description = "live: API key (default SHEPHERD_API_KEY, else the development key)" };
        var concurrency = new Option<int>("--concurrency") { Description = "live: answers in flight", DefaultValueFactory = _ => 2 };
        var replay = new ReplayCliOptions();
        var command = new Command("eval", "Evaluate every strategy: the paper's table, floor costs, frontier plot")
        {
            mode, labels, split, bundle, reactiveBundle, policyFrom, output, floor, agree, scorer, title, dataset, limit, strategies, address, apiKey, concurrency,
        };
        replay.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(mode) != "live")
            {
                return await Replay(parse, ct);
            }

            var name = parse.GetValue(dataset) ?? throw new InvalidOperationException("--mode live needs --dataset");
            var chosen = parse.GetValue(strategies)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Concat(["slm", "llm"]).Distinct().ToArray();
            var splitName = parse.GetValue(split) == "all" ? "test" : parse.GetValue(split)!;
            var (results, standIn) = await LiveRunner.RunAsync(
                new LiveRunner.Settings(name, splitName, parse.GetValue(limit), chosen, parse.GetValue(address), parse.GetValue(apiKey), parse.GetValue(replay.TrialsOption) ?? 1, parse.GetValue(concurrency)),
                ct);
            var notes = standIn ? new[] { "STAND-IN LLM: no GROQ_API_KEY on the orchestrator; accuracies and costs mean nothing." } : [];
            var report = LiveReport.Build(parse.GetValue(title) ?? $"Shepherd live: {name}/{splitName} ({results.Count / chosen.Length} queries)", results, parse.GetValue(floor), notes);
            ReportConsole.Write(report);
            var written = ReportWriters.WriteAll(report, parse.GetRequiredValue(output).FullName);
            AnsiConsole.MarkupLine($"[green]wrote {string.Join(", ", written.Select(p => Markup.Escape(p)))}[/]");
            return 0;
        });
        return command;

        Task<int> Replay(ParseResult parse, CancellationToken ct) => ReplayRunner.Guard(() =>
        {
            var labelFile = (parse.GetValue(labels) ?? throw new InvalidOperationException("--mode replay needs --labels")).FullName;
            var records = ReplayRunner.ReadLabels(labelFile, parse.GetValue(split)!);
            var settings = new ReportSettings
            {
                Title = parse.GetValue(title) ?? $"Shepherd replay: {Path.GetFileName(labelFile)} ({records.Count} queries)",
                FloorFraction = parse.GetValue(floor),
                ScorerThreshold = parse.GetValue(scorer),
            };
            var options = replay.Read(parse);
            var (proactive, reactive) = (parse.GetValue(bundle)?.FullName, parse.GetValue(reactiveBundle)?.FullName);
            if (parse.GetValue(policyFrom) is { } from)
            {
                var bundles = ReproduceCommand.Bundles(from == "gsm8k" ? Path.Combine(LocalStack.DefaultHome, "reproduce", "gsm8k") : Path.GetFullPath(from));
                (proactive, reactive) = (bundles[PolicyMode.Proactive], bundles[PolicyMode.Reactive]);
                AnsiConsole.MarkupLine($"[grey]policy from a GSM8K run: {Markup.Escape(proactive)} and {Markup.Escape(reactive)} (zero-shot on {Markup.Escape(Path.GetFileName(labelFile))})[/]");
                settings = settings with { Notes = [.. settings.Notes, $"zero-shot: the policy was trained on GSM8K ({proactive})"] };
            }

            var report = ReplayRunner.Evaluate(records, proactive ?? throw new InvalidOperationException("--mode replay needs --bundle or --policy-from"), reactive, options, settings, parse.GetValue(agree), ct);
            ReportConsole.Write(report);
            var paths = ReportWriters.WriteAll(report, parse.GetRequiredValue(output).FullName);
            AnsiConsole.MarkupLine($"[green]wrote {string.Join(", ", paths.Select(p => Markup.Escape(p)))}[/]");
            return 0;
        });
    }
}
