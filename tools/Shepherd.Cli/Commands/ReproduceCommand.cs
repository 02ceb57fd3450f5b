using System.CommandLine;
using Shepherd.Cli.Embeddings;
using Shepherd.Cli.Evaluation;
using Shepherd.Cli.Hosting;
using Shepherd.Core.Configuration;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;
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
        var testCount = new Option<int>("--test") { Description = "Test queries (the table)", DefaultValueFactory = _ => 6 };
        var policyFrom = new Option<string?>("--policy-from") { Description = "Evaluate with a GSM8K policy instead of training one: 'gsm8k' (reuse .shepherd/reproduce/gsm8k, or train it there first) or an earlier GSM8K run's directory; humaneval's default is gsm8k, as in the paper" };
        var output = new Option<string?>("--out") { Description = "Working directory (default .shepherd/reproduce/DATASET)" };
        var model = new Option<string?>("--model") { Description = "GGUF for the SLM (default: the stories260K fixture)" };
        var slmTokens = new Option<int?>("--slm-max-tokens") { Description = $"Tokens per SLM answer (default: serving's {GenerationCaps.SlmKey}; 48 with stand-in models)" };
        var answerTokens = new Option<int?>("--max-answer-tokens") { Description = $"Tokens of the LLM's full answer (default: serving's {GenerationCaps.LlmKey}; 96 with stand-in models)" };
        var maxUsd = new Option<double?>("--max-usd") { Description = "Stop labelling before LLM spend would cross this" };
        var concurrency = new Option<int>("--concurrency") { Description = "Queries labelled at once", DefaultValueFactory = _ => 2 };
        var command = new Command("reproduce", "The paper's pipeline in one command: label → train → calibrate → evaluate")
        {
            dataset, train, val, testCount, policyFrom, output, model, slmTokens, answerTokens, maxUsd, concurrency,
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
            var run = new Run(slm.Address, llmCap, slmCap, parse.GetValue(maxUsd), parse.GetValue(concurrency), Cleaned: !(standIn || toyModel));

            // HumanEval as in the paper: zero-shot with the policy trained on GSM8K; only its test split is labelled.
            var from = parse.GetValue(policyFrom) ?? (name == "humaneval" ? "gsm8k" : null);
            Dictionary<PolicyMode, string> bundles;
            if (from is null)
            {
                var files = await LabelAsync(run, name, directory, [("train", parse.GetValue(train)), ("validation", parse.GetValue(val))], ct);
                if (files is null)
                {
                    return 1;
                }

                bundles = TrainAndCalibrate(files, directory, ct);
            }
            else
            {
                var source = from == "gsm8k" ? Path.Combine(LocalStack.DefaultHome, "reproduce", "gsm8k") : Path.GetFullPath(from);
                AnsiConsole.MarkupLine($"[bold]{name}[/]: evaluated zero-shot with the policy trained on GSM8K (the paper's protocol), from {Markup.Escape(source)}; only its test split is labelled");
                if (!Bundles(source).Values.All(Directory.Exists))
                {
                    if (from != "gsm8k")
                    {
                        throw new InvalidOperationException($"--policy-from {from}: no bundle-proactive and bundle-reactive there; pass 'gsm8k' or the directory of a GSM8K reproduce run");
                    }

                    AnsiConsole.MarkupLine("[bold]no GSM8K policy yet[/]: labelling GSM8K train and validation and training it first");
                    var files = await LabelAsync(run, "gsm8k", source, [("train", parse.GetValue(train)), ("validation", parse.GetValue(val))], ct);
                    if (files is null)
                    {
                        return 1;
                    }

                    TrainAndCalibrate(files, source, ct);
                }

                bundles = Bundles(source);
            }

            var test = await LabelAsync(run, name, directory, [("test", parse.GetValue(testCount))], ct);
            if (test is null)
            {
                return 1;
            }

            var records = ReplayRunner.ReadLabels(test["test"], "test");
            var notes = new List<string>();
            if (standIn || toyModel)
            {
                notes.Add("STAND-IN MODELS: accuracies and costs in this table mean nothing about shepherding; they prove the pipeline runs.");
            }

            if (from is not null)
            {
                notes.Add($"zero-shot: the policy was trained on GSM8K ({bundles[PolicyMode.Proactive]}), as the paper evaluates HumanEval");
            }

            var report = ReplayRunner.Evaluate(
                records, bundles[PolicyMode.Proactive], bundles[PolicyMode.Reactive], ReplayOptions,
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

    private static readonly ReplayOptions ReplayOptions = ReplayRunner.Options(0.59, 0.79, 0, 0, trials: null);

    /// <summary>How every labelling of one reproduce run is done.</summary>
    private sealed record Run(Uri SlmAddress, int LlmCap, int SlmCap, double? MaxUsd, int Concurrency, bool Cleaned);

    /// <summary>The proactive and reactive bundles of a reproduce run directory.</summary>
    public static Dictionary<PolicyMode, string> Bundles(string directory) =>
        new[] { PolicyMode.Proactive, PolicyMode.Reactive }.ToDictionary(m => m, m => Path.Combine(directory, "bundle-" + m.ToWire()));

    /// <summary>Labels the splits into DIR/labels-SPLIT.jsonl; null when the budget stopped it.</summary>
    private static async Task<Dictionary<string, string>?> LabelAsync(Run run, string name, string directory, (string Split, int Count)[] splits, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var files = new Dictionary<string, string>();
        foreach (var (split, count) in splits)
        {
            var file = Path.Combine(directory, $"labels-{split}.jsonl");
            files[split] = file;
            AnsiConsole.MarkupLine($"[bold]label[/] {name}/{split}: {count} queries → {Markup.Escape(file)}");
            // The paper's filters clean training labels only: filtering validation or test would drop the queries
            // every strategy fails and lift every accuracy. Stand-ins solve nothing, so they would drop everything.
            var cleaned = split == "train" && run.Cleaned;
            var settings = new LabelCommand.Settings(
                name, split, count, file, LadderMode.Prefix, Trials: 1, Samples: TaskPresets.Samples, run.Concurrency, run.MaxUsd,
                OutlierThreshold: cleaned ? OutlierFilter.DefaultThreshold(OutlierReading.Step) : 0, run.LlmCap, run.SlmCap, Path.Combine(directory, "labels.db"),
                null, null, null, run.SlmAddress, null, DropUnhelpable: cleaned,
                // The llama.cpp stand-in's greedy tokens are not always what its tokenizer gives back for the text, so
                // the prefix check fails; buying ten stand-in calls per query proves nothing, so stand-ins flag instead.
                OnPrefixCheckFailure: run.Cleaned ? PrefixCheckFailure.Fallback : PrefixCheckFailure.Flag);
            if (await LabelCommand.RunAsync(settings, interactive: true, ct) is null)
            {
                return null;
            }
        }

        return files;
    }

    /// <summary>Trains both bundles on train + validation labels and calibrates each on validation.</summary>
    private static Dictionary<PolicyMode, string> TrainAndCalibrate(Dictionary<string, string> files, string directory, CancellationToken ct)
    {
        var bundles = Bundles(directory);
        foreach (var (mode, bundle) in bundles)
        {
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
        }

        var validation = ReplayRunner.ReadLabels(files["validation"], "validation");
        foreach (var (mode, bundle) in bundles)
        {
            AnsiConsole.MarkupLine($"[bold]calibrate[/] {mode.ToWire()} on {validation.Count} validation queries (target: 90 % of LLM-only accuracy at least cost)");
            var calibration = ReplayRunner.Calibrate(bundle, validation, new AccuracyFloorTarget(0.9), ReplayOptions, agree: null, etaCount: 20, write: true, ct);
            ReportConsole.Write(calibration);
        }

        return bundles;
    }
}
