using System.CommandLine;
using Shepherd.Cli.Embeddings;
using Shepherd.Cli.Evaluation;
using Shepherd.Cli.Hosting;
using Shepherd.Core.Configuration;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Training;
using Shepherd.Reports;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd reproduce --dataset gsm8k</c>: label (train, validation, test) → train (proactive and reactive) →
/// calibrate (α, η on validation, to 90 % of LLM-only accuracy) → replay-evaluate on test, with the embedded
/// defaults: no key, no GPU, no Docker. With GROQ_API_KEY and --model pointing at a real GGUF it runs the real
/// experiment; without, it says plainly that the stand-in models' accuracy means nothing.
/// </summary>
public static class ReproduceCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "gsm8k, cnk12, humaneval or mbpp", DefaultValueFactory = _ => "gsm8k" };
        dataset.AcceptOnlyFromAmong("gsm8k", "cnk12", "humaneval", "mbpp");
        var train = new Option<int>("--train") { Description = "Training queries to label", DefaultValueFactory = _ => 12 };
        var val = new Option<int>("--val") { Description = "Validation queries (calibration)", DefaultValueFactory = _ => 6 };
        var test = new Option<int>("--test") { Description = "Test queries (the table)", DefaultValueFactory = _ => 6 };
        var output = new Option<string?>("--out") { Description = "Working directory (default .shepherd/reproduce/DATASET)" };
        var model = new Option<string?>("--model") { Description = "GGUF for the SLM (default: the stories260K fixture)" };
        var slmTokens = new Option<int?>("--slm-max-tokens") { Description = $"Tokens per SLM answer (default: serving's {GenerationCaps.SlmKey}; 48 with stand-in models)" };
        var answerTokens = new Option<int?>("--max-answer-tokens") { Description = $"Tokens of the LLM's full answer (default: serving's {GenerationCaps.LlmKey}; 96 with stand-in models)" };
        var maxUsd = new Option<double?>("--max-usd") { Description = "Stop labelling before LLM spend would cross this" };
        var concurrency = new Option<int>("--concurrency") { Description = "Queries labelled at once", DefaultValueFactory = _ => 2 };
        var command = new Command("reproduce", "The paper's pipeline in one command: label → train → calibrate → evaluate")
        {
            dataset, train, val, test, output, model, slmTokens, answerTokens, maxUsd, concurrency,
        };
        command.SetAction(async (parse, ct) =>
        {
            var name = parse.GetValue(dataset)!;
            var directory = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(LocalStack.DefaultHome, "reproduce", name));
            Directory.CreateDirectory(directory);
            var standIn = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GROQ_API_KEY"));
            var modelPath = parse.GetValue(model) ?? ShepherdPaths.FixtureModel ?? throw new InvalidOperationException(MissingFixtures.Model);
            var toyModel = Path.GetFileName(modelPath).StartsWith("stories", StringComparison.OrdinalIgnoreCase);
            if (standIn || toyModel)
            {
                AnsiConsole.MarkupLine("[yellow]Stand-in models: " + (standIn ? "no GROQ_API_KEY, so the LLM is a local llama.cpp stand-in" : "") + (standIn && toyModel ? "; " : "")
                    + (toyModel ? $"the SLM is {Markup.Escape(Path.GetFileName(modelPath))}, a toy story model" : "")
                    + ". Every accuracy below means nothing; the run proves the pipeline, not the method.[/]");
            }

            // The serving caps, as labelling everywhere; stand-ins never stop on their own, so they get short caps.
            var caps = GenerationCaps.FromEnvironment();
            var llmCap = parse.GetValue(answerTokens) ?? (standIn || toyModel ? 96 : caps.LlmMaxTokens);
            var slmCap = parse.GetValue(slmTokens) ?? (standIn || toyModel ? 48 : caps.SlmMaxTokens);
            AnsiConsole.MarkupLine($"[grey]generation caps: LLM {llmCap} / SLM {slmCap} tokens (serving: {Markup.Escape(caps.ToString())})[/]");
            await using var slm = await ServiceProcess.StartAsync("Shepherd.Slm", new Dictionary<string, string> { ["Slm__ModelPath"] = modelPath }, TimeSpan.FromSeconds(90), ct);
            var files = new Dictionary<string, string>();
            foreach (var (split, count) in new[] { ("train", parse.GetValue(train)), ("validation", parse.GetValue(val)), ("test", parse.GetValue(test)) })
            {
                var file = Path.Combine(directory, $"labels-{split}.jsonl");
                files[split] = file;
                AnsiConsole.MarkupLine($"[bold]label[/] {name}/{split}: {count} queries → {Markup.Escape(file)}");
                var settings = new LabelCommand.Settings(
                    name, split, count, file, LadderMode.Prefix, Trials: 1, Samples: 3, parse.GetValue(concurrency), parse.GetValue(maxUsd),
                    // The paper's filters clean training labels only: filtering validation or test would drop the queries
                    // every strategy fails and lift every accuracy. Stand-ins solve nothing, so they would drop everything.
                    OutlierThreshold: split == "train" && !(standIn || toyModel) ? OutlierFilter.DefaultThreshold(OutlierReading.Step) : 0, llmCap, slmCap, Path.Combine(directory, "labels.db"),
                    null, null, null, slm.Address, null, DropUnhelpable: split == "train" && !(standIn || toyModel));
                if (await LabelCommand.RunAsync(settings, interactive: true, ct) is null)
                {
                    return 1;
                }
            }

            var bundles = new Dictionary<PolicyMode, string>();
            foreach (var mode in new[] { PolicyMode.Proactive, PolicyMode.Reactive })
            {
                var bundle = Path.Combine(directory, "bundle-" + mode.ToWire());
                AnsiConsole.MarkupLine($"[bold]train[/] {mode.ToWire()} → {Markup.Escape(bundle)}");
                var labels = LabelFile.ReadAll(files["train"]).Concat(LabelFile.ReadAll(files["validation"])).ToArray();
                var singleClass = labels.All(l => l.NeedsHint) || !labels.Any(l => l.NeedsHint);
                if (singleClass)
                {
                    AnsiConsole.MarkupLine("[yellow]every training label has the same class, so the hint head learns a constant (expected with stand-in models)[/]");
                }

                var trainingOptions = new PolicyTrainingOptions { Mode = mode, MaxEpochs = 40, AllowSingleClass = singleClass };
                using var encoder = EmbeddingCache.Open(trainingOptions.Encoder, trainingOptions.EncoderBaseDirectory, trainingOptions.EncoderRuntime);
                var result = PolicyTrainer.Train(labels, encoder, trainingOptions, null, ct);
                result.Save(bundle);
                AnsiConsole.WriteLine(result.Summary.Format());
                bundles[mode] = bundle;
            }

            var replay = ReplayRunner.Options(0.59, 0.79, 0, 0, trials: null);
            var validation = ReplayRunner.ReadLabels(files["validation"], "validation");
            foreach (var (mode, bundle) in bundles)
            {
                AnsiConsole.MarkupLine($"[bold]calibrate[/] {mode.ToWire()} on {validation.Count} validation queries (target: 90 % of LLM-only accuracy at least cost)");
                var calibration = ReplayRunner.Calibrate(bundle, validation, new AccuracyFloorTarget(0.9), replay, agree: null, etaCount: 20, write: true, ct);
                ReportConsole.Write(calibration);
            }

            var records = ReplayRunner.ReadLabels(files["test"], "test");
            var notes = new List<string>();
            if (standIn || toyModel)
            {
                notes.Add("STAND-IN MODELS: accuracies and costs in this table mean nothing about shepherding; they prove the pipeline runs.");
            }

            var report = ReplayRunner.Evaluate(
                records, bundles[PolicyMode.Proactive], bundles[PolicyMode.Reactive], replay,
                new ReportSettings { Title = $"Shepherd reproduce: {name} ({records.Count} test queries, replay)", FloorFraction = 0.9, Notes = notes },
                agree: null, ct);
            ReportConsole.Write(report);
            var paths = ReportWriters.WriteAll(report, directory);
            AnsiConsole.MarkupLine($"[green]wrote {string.Join(", ", paths.Select(p => Markup.Escape(p)))}[/]");
            if (standIn || toyModel)
            {
                AnsiConsole.MarkupLine("[yellow]Reminder: stand-in models. Set GROQ_API_KEY and --model <a real instruct GGUF> for the real experiment.[/]");
            }

            return 0;
        });
        return command;
    }
}
