using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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
        OutlierReading OutlierReading = OutlierReading.Step, LlmPromptStyle LlmPrompt = LlmPromptStyle.Same,
        PrefixCheckFailure OnPrefixCheckFailure = PrefixCheckFailure.Fallback, bool LlmBatch = false, TimeSpan? BatchPollInterval = null);

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
        var prefixCheck = new Option<string>("--prefix-check") { Description = "A record whose prefix ladder fails its check (token count, UTF-8 cuts): fallback (per-level calls for it) or flag (keep the prefix ladder, flagged)", DefaultValueFactory = _ => "fallback" };
        prefixCheck.AcceptOnlyFromAmong("fallback", "flag");
        var llmBatch = new Option<bool>("--llm-batch") { Description = "Buy the run's LLM answers through the Batch API first (files + batches; the batch price in Llm:Pricing), then label; a killed run resumes its stored batch" };
        var database = new Option<string?>("--db") { Description = "SQLite file of the labelling ledger and hint cache (default .shepherd/labels.db)" };
        var llmBaseUrl = new Option<string?>("--llm-base-url") { Description = "OpenAI-compatible endpoint (default Groq)" };
        var llmModel = new Option<string?>("--llm-model") { Description = "LLM model (default llama-3.3-70b-versatile)" };
        var llmKeyFile = new Option<string?>("--llm-key-file") { Description = "File holding the LLM key (else GROQ_API_KEY)" };
        var slm = UriOption.Create("--slm", "A running slm-service (default: start one on --model or the fixture)");
        var model = new Option<string?>("--model") { Description = "GGUF for the started slm-service" };
        var command = new Command("label", "Build hint-ladder labels (n*, per-level outcomes, reactive features) for a dataset split")
        {
            dataset, split, limit, output, ladder, trials, samples, concurrency, maxUsd, outlier, outlierReading, llmPrompt, prefixCheck, llmBatch, maxAnswer, slmTokens, database, llmBaseUrl, llmModel, llmKeyFile, slm, model,
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
                DropUnhelpable: parse.GetValue(split) == "train", reading, Core.Tasks.LlmPrompt.Parse(parse.GetValue(llmPrompt)!),
                parse.GetValue(prefixCheck) == "flag" ? PrefixCheckFailure.Flag : PrefixCheckFailure.Fallback, parse.GetValue(llmBatch));
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

            await using var llm = LabelLlm.Build(slmAddress, LabelLlm.Settings(s.Database, s.MaxAnswerTokens, s.LlmBaseUrl, s.LlmModel, s.LlmKeyFile));
            var paid = llm.GetRequiredService<PaidLlm>();
            var llmOptions = llm.GetRequiredService<IOptions<LlmOptions>>().Value;
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
            var labelOptions = new LabelOptions { Ladder = s.Ladder, Trials = s.Trials, Samples = s.Samples, OutlierThreshold = s.OutlierThreshold, OutlierReading = s.OutlierReading, LlmPrompt = s.LlmPrompt, OnPrefixCheckFailure = s.OnPrefixCheckFailure, MaxAnswerTokens = s.MaxAnswerTokens, DropUnhelpable = s.DropUnhelpable };
            var ledger = llm.GetRequiredService<ILedger>();
            var batch = s.LlmBatch ? await BatchAsync(s, items, paid, ledger, llmOptions, task, labelOptions, interactive, ct) : null;
            var labeller = new Labeller(
                new ServiceLabelModels(paid, ledger, llm.GetRequiredService<TokenCutter>(), llm.GetRequiredService<SlmService.SlmServiceClient>(), s.SlmMaxTokens),
                labelOptions)
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

            stats!.Batch = batch;
            var labelled = OutlierReport.Labelled(s.Output, stats!);
            if (labelled.Count > 0)
            {
                stats!.Figures = LabelFigures.WriteAll(labelled, s.Output, $"{s.Dataset}/{s.Split}");
                if (interactive)
                {
                    AnsiConsole.MarkupLine($"figures: {string.Join(", ", stats.Figures.Select(f => Markup.Escape(Path.GetFileName(f))))} (beside the labels)");
                }
            }

            Summarise(stats!, s, llm.GetRequiredService<Core.Cost.PriceTable>(), llmOptions.Model);
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

    /// <summary>The Batch API step of <c>--llm-batch</c>: buys what the run will ask for, showing progress while it waits.</summary>
    private static async Task<LabelBatchStats> BatchAsync(Settings s, IReadOnlyList<TaskItem> items, PaidLlm paid, ILedger ledger, LlmOptions llmOptions, ITaskKind task, LabelOptions options, bool interactive, CancellationToken ct)
    {
        if (paid.IsStandIn || new LlmApiKey(Microsoft.Extensions.Options.Options.Create(llmOptions)).Value is not { } key)
        {
            throw new InvalidOperationException("--llm-batch needs an OpenAI-compatible endpoint and its key (GROQ_API_KEY or --llm-key-file); the local stand-in has no Batch API");
        }

        var done = File.Exists(s.Output) ? LabelFile.ReadAll(s.Output).Select(r => r.Id).ToHashSet(StringComparer.Ordinal) : [];
        var state = LabelBatch.StateFile(s.Output);
        if (File.Exists(state))
        {
            AnsiConsole.MarkupLine($"[grey]resuming the batch stored in {Markup.Escape(state)} (not submitting again)[/]");
        }

        using var http = new HttpClient();
        var runner = new LabelBatch(paid, ledger, new OpenAiBatchClient(http, llmOptions, key), task, options, state, s.BatchPollInterval ?? TimeSpan.FromSeconds(10));
        var result = await runner.RunAsync([.. items.Where(i => !done.Contains(i.Id))], p =>
        {
            if (interactive)
            {
                AnsiConsole.MarkupLine($"[grey]batch {Markup.Escape(p.BatchId)} ({p.Phase}): {Markup.Escape(p.Status)}, {p.Completed} of {p.Total} done, {p.Failed} failed[/]");
            }
        }, ct);
        if (interactive)
        {
            AnsiConsole.MarkupLine($"batch: {result.Answered} of {result.Requested} answers bought at the batch price (${result.Usd:F6}); {result.Failed} failed and will be called at list price");
            foreach (var failure in result.Failures.Take(5))
            {
                AnsiConsole.MarkupLine($"  [yellow]{Markup.Escape(failure)}[/]");
            }
        }

        return result;
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
        var batch = stats.Batch ?? new LabelBatchStats(0, 0, 0, 0, 0, 0, []);
        AnsiConsole.MarkupLine($"paid: {stats.LlmCallsPaid} LLM calls + {batch.Answered} batch answers, {stats.PaidPromptTokens / (double)labelled:F1} input + {stats.PaidCompletionTokens / (double)labelled:F1} output tokens per labelled query, ${stats.PaidUsd:F6} (${stats.PaidUsd / labelled:F8} per query)");
        if (s.Ladder == LadderMode.Prefix)
        {
            var paidTokens = stats.PaidPromptTokens + stats.PaidCompletionTokens;
            var callsTokens = stats.CallsEquivalentPromptTokens + stats.CallsEquivalentCompletionTokens;
            AnsiConsole.MarkupLine($"the paper's one-call-per-level protocol would pay {stats.CallsEquivalentPromptTokens / (double)labelled:F1} input + {stats.CallsEquivalentCompletionTokens / (double)labelled:F1} output tokens per query (${callsUsd:F6}); prefix reuse pays {(paidTokens == 0 ? "nothing (all cached)" : $"{callsTokens / (double)paidTokens:F1}× fewer tokens")}");
        }

        foreach (var group in stats.Labelled.GroupBy(r => (r.Ladder, Failed: r.LadderCheck is not null)).OrderBy(g => g.Key.Ladder))
        {
            var what = group.Key switch
            {
                ("calls", true) => "per-level calls after a failed prefix check",
                ("prefix", true) => "prefix ladder, flagged: its check failed",
                (var ladder, _) => ladder + " ladder",
            };
            var reason = group.Select(r => r.LadderCheck).FirstOrDefault(c => c is not null);
            AnsiConsole.MarkupLine($"ladder: {group.Count()} records by {what}" + (reason is null ? "" : $" (e.g. {Markup.Escape(reason)})"));
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
