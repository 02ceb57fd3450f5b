using System.CommandLine;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Shepherd.Cli.Hosting;
using Shepherd.Cli.Labelling;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Core.Datasets;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Core.Tasks;
using Shepherd.Llm;
using Shepherd.Llm.Storage;
using Shepherd.Reports;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd label --dataset D --split train|validation [--limit N]</c>: the hint ladder per query, written as
/// label JSONL (docs/labels.md). The LLM is GROQ_API_KEY's Groq (or --llm-base-url), else the local stand-in.
/// </summary>
public static class LabelCommand
{
    public sealed record Settings(
        string Dataset, string Split, int? Limit, string Output, LadderMode Ladder, int Trials, int Samples, int Concurrency,
        double? MaxUsd, int OutlierThreshold, int MaxAnswerTokens, int SlmMaxTokens, string Database,
        string? LlmBaseUrl, string? LlmModel, string? LlmKeyFile, Uri? SlmAddress, string? Model, bool DropUnhelpable = true,
        OutlierReading OutlierReading = OutlierReading.Step, LlmPromptStyle LlmPrompt = LlmPromptStyle.Same);

    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "gsm8k, cnk12, humaneval or mbpp", Required = true };
        dataset.AcceptOnlyFromAmong("gsm8k", "cnk12", "humaneval", "mbpp");
        var split = new Option<string>("--split") { Description = "train, validation or test", DefaultValueFactory = _ => "train" };
        split.AcceptOnlyFromAmong("train", "validation", "test");
        var limit = new Option<int?>("--limit") { Description = "Label only the first N queries of the split" };
        var output = new Option<string?>("--out") { Description = "Label JSONL (default .shepherd/labels/DATASET-SPLIT.jsonl); existing ids are skipped" };
        var ladder = new Option<string>("--ladder") { Description = "prefix (one LLM call per query) or calls (the paper's one call per level)", DefaultValueFactory = _ => "prefix" };
        ladder.AcceptOnlyFromAmong("prefix", "calls");
        var trials = new Option<int>("--trials") { Description = "SLM trials per level, majority vote (paper: 7)", DefaultValueFactory = _ => 1 };
        var samples = new Option<int>("--samples") { Description = "K samples for the reactive features", DefaultValueFactory = _ => 3 };
        var concurrency = new Option<int>("--concurrency") { Description = "Queries labelled at once", DefaultValueFactory = _ => 2 };
        var maxUsd = new Option<double?>("--max-usd") { Description = "Stop before LLM spend would cross this" };
        var outlier = new Option<int?>("--outlier-threshold") { Description = "Training labels: drop gsm8k/cnk12 queries with this many flagged levels of 11 (0 = off; default 2 for step, 4 for the others)" };
        var outlierReading = new Option<string>("--outlier-reading") { Description = "step (fewest changes to a one-step ladder), level-majority (against the set's majority per level) or query-minority (min(passing, failing))", DefaultValueFactory = _ => "step" };
        outlierReading.AcceptOnlyFromAmong("step", "level-majority", "query-minority");
        // The serving caps (Llm__MaxAnswerTokens, Orchestrator__SlmMaxTokens), so labels cut answers where serving does.
        var caps = GenerationCaps.FromEnvironment();
        var maxAnswer = new Option<int>("--max-answer-tokens") { Description = $"Tokens of the LLM's full answer (default: serving's {GenerationCaps.LlmKey})", DefaultValueFactory = _ => caps.LlmMaxTokens };
        var slmTokens = new Option<int>("--slm-max-tokens") { Description = $"Tokens of each SLM answer (default: serving's {GenerationCaps.SlmKey})", DefaultValueFactory = _ => caps.SlmMaxTokens };
        var llmPrompt = new Option<string>("--llm-prompt") { Description = "The prompt the LLM is billed for: same (the paper: the SLM's prompt, few-shot included) or lean (instruction and question); default: serving's Llm__Prompt", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Llm__Prompt") is { Length: > 0 } p ? p : Core.Tasks.LlmPrompt.Same };
        llmPrompt.AcceptOnlyFromAmong(Core.Tasks.LlmPrompt.Same, Core.Tasks.LlmPrompt.Lean);
        var database = new Option<string?>("--db") { Description = "SQLite file of the labelling ledger and hint cache (default .shepherd/labels.db)" };
        var llmBaseUrl = new Option<string?>("--llm-base-url") { Description = "OpenAI-compatible endpoint (default Groq)" };
        var llmModel = new Option<string?>("--llm-model") { Description = "LLM model (default llama-3.3-70b-versatile)" };
        var llmKeyFile = new Option<string?>("--llm-key-file") { Description = "File holding the LLM key (else GROQ_API_KEY)" };
        var slm = new Option<Uri?>("--slm") { Description = "A running slm-service (default: start one on --model or the fixture)" };
        var model = new Option<string?>("--model") { Description = "GGUF for the started slm-service" };
        var command = new Command("label", "Build hint-ladder labels (n*, per-level outcomes, reactive features) for a dataset split")
        {
            dataset, split, limit, output, ladder, trials, samples, concurrency, maxUsd, outlier, outlierReading, llmPrompt, maxAnswer, slmTokens, database, llmBaseUrl, llmModel, llmKeyFile, slm, model,
        };
        command.SetAction(async (parse, ct) =>
        {
            var home = LocalStack.DefaultHome;
            var reading = OutlierFilter.Parse(parse.GetValue(outlierReading)!);
            var settings = new Settings(
                parse.GetRequiredValue(dataset), parse.GetValue(split)!, parse.GetValue(limit),
                parse.GetValue(output) ?? Path.Combine(home, "labels", $"{parse.GetRequiredValue(dataset)}-{parse.GetValue(split)}.jsonl"),
                parse.GetValue(ladder) == "calls" ? LadderMode.Calls : LadderMode.Prefix,
                // The paper's filters clean training labels; validation and test keep every query (filtering them would
                // drop queries every strategy fails and lift every accuracy).
                parse.GetValue(trials), parse.GetValue(samples), parse.GetValue(concurrency), parse.GetValue(maxUsd),
                parse.GetValue(split) == "train" ? parse.GetValue(outlier) ?? OutlierFilter.DefaultThreshold(reading) : 0,
                parse.GetValue(maxAnswer), parse.GetValue(slmTokens), parse.GetValue(database) ?? Path.Combine(home, "labels.db"),
                parse.GetValue(llmBaseUrl), parse.GetValue(llmModel), parse.GetValue(llmKeyFile), parse.GetValue(slm), parse.GetValue(model),
                DropUnhelpable: parse.GetValue(split) == "train", reading, Core.Tasks.LlmPrompt.Parse(parse.GetValue(llmPrompt)!));
            var stats = await RunAsync(settings, interactive: true, ct);
            return stats is null ? 1 : 0;
        });
        return command;
    }

    /// <summary>Labels as configured; returns null when the budget stopped the run (what was done is kept).</summary>
    public static async Task<LabelRunStats?> RunAsync(Settings s, bool interactive, CancellationToken ct, Func<LabelRunStats, bool>? stopAfter = null)
    {
        var items = DatasetFiles.Load(s.Dataset, s.Split, ShepherdPaths.DataDirectory);
        if (s.Limit is { } n)
        {
            items = items.Take(n).ToArray();
        }

        ServiceProcess? started = null;
        try
        {
            var slmAddress = s.SlmAddress;
            if (slmAddress is null)
            {
                var modelPath = s.Model ?? ShepherdPaths.FixtureModel ?? throw new InvalidOperationException("no SLM: pass --slm or --model, or fetch the fixtures");
                AnsiConsole.MarkupLine($"[grey]starting slm-service on {Markup.Escape(modelPath)} …[/]");
                started = await ServiceProcess.StartAsync("Shepherd.Slm", new Dictionary<string, string> { ["Slm__ModelPath"] = modelPath }, TimeSpan.FromSeconds(90), ct);
                slmAddress = started.Address;
            }

            using var channel = GrpcChannel.ForAddress(slmAddress);
            var slmClient = new SlmService.SlmServiceClient(channel);
            var llmOptions = new LlmOptions { MaxAnswerTokens = s.MaxAnswerTokens };
            if (s.LlmBaseUrl is { } url)
            {
                llmOptions.BaseUrl = url;
            }

            if (s.LlmModel is { } m)
            {
                llmOptions.Model = m;
            }

            if (s.LlmKeyFile is { } keyFile)
            {
                llmOptions.ApiKeyFile = keyFile;
                llmOptions.ApiKeyVariable = "SHEPHERD_LABEL_UNUSED_KEY_VARIABLE";
            }

            var paid = PaidLlmFactory.Create(llmOptions, new StorageOptions { SqlitePath = s.Database }, slmClient, NullLoggerFactory.Instance);
            if (interactive)
            {
                var serving = GenerationCaps.FromEnvironment();
                var same = serving == new GenerationCaps(s.MaxAnswerTokens, s.SlmMaxTokens);
                AnsiConsole.MarkupLine($"[grey]generation caps: LLM {s.MaxAnswerTokens} / SLM {s.SlmMaxTokens} tokens" + (same ? " (the serving caps)" : $"; serving uses {Markup.Escape(serving.ToString())}")
                    + $"; LLM prompt: {Core.Tasks.LlmPrompt.Name(s.LlmPrompt)}[/]");
            }

            if (paid.IsStandIn && interactive)
            {
                AnsiConsole.MarkupLine("[yellow]No LLM key: the LLM is the local llama.cpp stand-in; these labels and their costs mean nothing.[/]");
            }

            var task = TaskRegistry.Shared.Get(s.Dataset);
            var labeller = new Labeller(
                new ServiceLabelModels(paid, new TokenCutter(slmClient), slmClient, s.Ladder, s.SlmMaxTokens),
                new LabelOptions { Ladder = s.Ladder, Trials = s.Trials, Samples = s.Samples, OutlierThreshold = s.OutlierThreshold, OutlierReading = s.OutlierReading, LlmPrompt = s.LlmPrompt, MaxAnswerTokens = s.MaxAnswerTokens, DropUnhelpable = s.DropUnhelpable })
            {
                MaxUsd = s.MaxUsd,
            };
            var run = new LabelRun(labeller, task, Math.Max(1, s.Concurrency));
            var split = s.Split switch { "validation" => LabelSplit.Validation, "test" => LabelSplit.Test, _ => LabelSplit.Train };
            LabelRunStats? stats = null;
            try
            {
                if (interactive)
                {
                    await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .StartAsync(async progress =>
                        {
                            var bar = progress.AddTask($"labelling {s.Dataset}/{s.Split}", maxValue: items.Count);
                            stats = await run.RunAsync(items, split, s.Output, (st, elapsed) =>
                            {
                                bar.Value = st.Done + st.Skipped;
                                var rate = st.Done / Math.Max(elapsed.TotalSeconds, 1e-9);
                                bar.Description = $"{st.Done + st.Skipped}/{items.Count} · {rate:F2} q/s · ${labeller.SpentUsd:F6} spent";
                            }, ct);
                        });
                }
                else
                {
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    stats = await run.RunAsync(items, split, s.Output, (st, _) =>
                    {
                        if (stopAfter?.Invoke(st) == true)
                        {
                            stop.Cancel();
                        }
                    }, stop.Token);
                }
            }
            catch (BudgetExceededException ex)
            {
                AnsiConsole.MarkupLine($"[yellow]stopped before the budget: {Markup.Escape(ex.Message)}. Labels so far are in {Markup.Escape(s.Output)}; re-run to resume.[/]");
                return null;
            }

            if (split == LabelSplit.Train)
            {
                stats!.OutlierDrops = OutlierReport.Run(s.Output, stats, s.OutlierReading, s.OutlierThreshold, interactive);
            }

            Summarise(stats!, s, PaidLlmFactory.Prices(llmOptions), llmOptions.Model);
            return stats;
        }
        finally
        {
            if (started is not null)
            {
                await started.DisposeAsync();
            }
        }
    }

    private static void Summarise(LabelRunStats stats, Settings s, Core.Cost.PriceTable prices, string model)
    {
        var price = prices.For(model);
        var labelled = Math.Max(1, stats.Done);
        AnsiConsole.MarkupLine($"[green]{stats.Written} labels written[/] to {Markup.Escape(s.Output)} ({stats.Skipped} already there, {stats.Dropped.Values.Sum()} dropped)");
        foreach (var (reason, count) in stats.Dropped)
        {
            AnsiConsole.MarkupLine($"  dropped {count}: {Markup.Escape(reason)}");
        }

        var callsUsd = price.Input(stats.CallsEquivalentPromptTokens) + price.Output(stats.CallsEquivalentCompletionTokens);
        AnsiConsole.MarkupLine($"paid: {stats.LlmCallsPaid} LLM calls, {stats.LlmPromptTokensPaid / (double)labelled:F1} input + {stats.LlmCompletionTokensPaid / (double)labelled:F1} output tokens per labelled query, ${stats.UsdPaid:F6}");
        if (s.Ladder == LadderMode.Prefix)
        {
            var paidTokens = stats.LlmPromptTokensPaid + stats.LlmCompletionTokensPaid;
            var callsTokens = stats.CallsEquivalentPromptTokens + stats.CallsEquivalentCompletionTokens;
            AnsiConsole.MarkupLine($"the paper's one-call-per-level protocol would pay {stats.CallsEquivalentPromptTokens / (double)labelled:F1} input + {stats.CallsEquivalentCompletionTokens / (double)labelled:F1} output tokens per query (${callsUsd:F6}); prefix reuse pays {(paidTokens == 0 ? "nothing (all cached)" : $"{callsTokens / (double)paidTokens:F1}× fewer tokens")}");
        }

        if (stats.Records.Count > 0)
        {
            var noHint = stats.Records.Count(r => r.NStar == 0);
            var unsolved = stats.Records.Count(r => r.NStar == LabelRecord.NoHintSufficed);
            AnsiConsole.MarkupLine($"labels: {100.0 * noHint / stats.Records.Count:F1}% need no hint, {100.0 * unsolved / stats.Records.Count:F1}% no hint sufficed, the rest need n* = "
                + string.Join(", ", stats.Records.Where(r => r.NStar > 0).GroupBy(r => r.Levels.First(l => l.Passed).Percent).OrderBy(g => g.Key).Select(g => $"{g.Key}%: {g.Count()}")));
        }
    }
}
