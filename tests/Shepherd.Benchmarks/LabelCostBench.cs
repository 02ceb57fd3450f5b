using System.Globalization;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Cli.Commands;
using Shepherd.Cli.Labelling;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Core.Datasets;
using Shepherd.Core.Labelling;
using Shepherd.Core.Tasks;
using Shepherd.Slm;
using Shepherd.TestSupport;

namespace Shepherd.Benchmarks;

/// <summary>
/// What labelling pays per GSM8K query, on one query set (the first N of GSM8K train), for calls / prefix /
/// prefix + lean / prefix + lean + batch, through <c>shepherd label</c>'s own code: the LLM is the Groq stand-in
/// (Groq's wire format, files and batches included; it answers each question with its GSM8K reference solution and
/// counts tokens as whitespace words), the SLM the stories260K fixture on one thread. Prices: Groq's
/// llama-3.3-70b-versatile ($0.59 / $0.79 per M), the batch at the configured discount (half price). Also: the LLM
/// prompt per query in stories260K tokens (a real tokenizer, not Llama-3's) for both prompts, how many training
/// records each outlier reading drops, and the label figures' file names. Args: [queries, default 8].
/// </summary>
public static class LabelCostBench
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var queries = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8;
        if (ShepherdPaths.FixtureModel is null || ShepherdPaths.DataDirectory is null)
        {
            output.WriteLine("label-cost needs ../shared (stories260K.gguf and GSM8K): set SHEPHERD_MODELS / SHEPHERD_DATA");
            return 2;
        }

        var work = Directory.CreateTempSubdirectory("shepherd-label-cost-").FullName;
        var items = DatasetCatalog.Load("gsm8k", "train", ShepherdPaths.DataDirectory).Take(queries).ToArray();
        var references = items.ToDictionary(i => i.Query, i => i.Reference);
        await using var groq = await GroqStandIn.StartAsync();
        groq.Answer = prompt => references.First(r => prompt.Contains(r.Key, StringComparison.Ordinal)).Value.Replace('\n', ' ');
        groq.BatchPollsToFinish = 2;
        var keyFile = Path.Combine(work, "key");
        await File.WriteAllTextAsync(keyFile, GroqStandIn.ValidKey);
        var slm = SlmApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Slm:ModelPath"] = ShepherdPaths.FixtureModel;
            b.Configuration["Slm:Threads"] = "1";
            b.Configuration["Logging:LogLevel:Default"] = "Warning";
            b.Configuration["Logging:LogLevel:llama.cpp"] = "Error";
        });
        await slm.StartAsync();
        try
        {
            var address = new Uri(slm.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            await PromptTokensAsync(address, items, output);
            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Labelling {items.Length} GSM8K train queries (LLM: the Groq stand-in, tokens = whitespace words; SLM: stories260K, 1 thread, 16-token answers; $0.59/$0.79 per M, batch -50 %)"));
            output.WriteLine("ladder                   LLM calls  batch answers   input/query  output/query    USD/query");
            LabelRunStats? first = null;
            string? firstOutput = null;
            foreach (var (name, ladder, prompt, batch) in new[]
            {
                ("calls", LadderMode.Calls, LlmPromptStyle.Same, false),
                ("prefix", LadderMode.Prefix, LlmPromptStyle.Same, false),
                ("prefix + lean", LadderMode.Prefix, LlmPromptStyle.Lean, false),
                ("prefix + lean + batch", LadderMode.Prefix, LlmPromptStyle.Lean, true),
            })
            {
                var file = Path.Combine(work, name.Replace(" + ", "-", StringComparison.Ordinal) + ".jsonl");
                var settings = new LabelCommand.Settings(
                    "gsm8k", "train", items.Length, file, ladder, Trials: 1, Samples: 3, Concurrency: 1, MaxUsd: null,
                    OutlierThreshold: OutlierFilter.DefaultThreshold(OutlierReading.Step), MaxAnswerTokens: GenerationCaps.DefaultLlmMaxTokens, SlmMaxTokens: 16,
                    Path.Combine(work, name.Replace(" + ", "-", StringComparison.Ordinal) + ".db"), groq.BaseUrl, "llama-3.3-70b-versatile", keyFile, address, null,
                    DropUnhelpable: true, OutlierReading.Step, prompt,
                    // The stand-in's words are not stories260K's tokens, so the prefix check fails on every record; flag
                    // keeps the prefix ladder (one call) so the comparison measures what prefix reuse pays.
                    PrefixCheckFailure.Flag, batch, TimeSpan.FromMilliseconds(20));
                var stats = (await LabelCommand.RunAsync(settings, interactive: false, CancellationToken.None))!;
                first ??= stats;
                firstOutput ??= file;
                var labelled = Math.Max(1, stats.Done);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{name,-24} {stats.LlmCallsPaid,9} {stats.Batch?.Answered ?? 0,14} {stats.PaidPromptTokens / (double)labelled,13:F1} {stats.PaidCompletionTokens / (double)labelled,13:F1} {stats.PaidUsd / labelled,12:F8}"));
            }

            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"outlier readings on the {first!.Labelled.Count} labelled training records (threshold: each reading's default):"));
            foreach (var reading in Enum.GetValues<OutlierReading>())
            {
                var threshold = OutlierFilter.DefaultThreshold(reading);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {OutlierFilter.Name(reading),-15} threshold {threshold}: drops {OutlierFilter.Dropped(first.Labelled, reading, threshold)}"));
            }

            output.WriteLine("figures beside the labels: " + string.Join(", ", first.Figures.Select(Path.GetFileName)) + ", histogram " + Path.GetFileName(OutlierReport.HistogramPath(firstOutput!)));
        }
        finally
        {
            await slm.StopAsync();
            await slm.DisposeAsync();
            Directory.Delete(work, recursive: true);
        }

        return 0;
    }

    /// <summary>The LLM prompt of each query as stories260K's chat template tokenizes it, for both prompts.</summary>
    private static async Task PromptTokensAsync(Uri slm, IReadOnlyList<TaskItem> items, TextWriter output)
    {
        using var channel = GrpcChannel.ForAddress(slm);
        var client = new SlmService.SlmServiceClient(channel);
        var task = TaskRegistry.Shared.Get("gsm8k");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LLM prompt per GSM8K query ({items.Count} queries): words (the Groq stand-in's count) and stories260K tokens (the slm-service's CountTokens)"));
        foreach (var style in new[] { LlmPromptStyle.Same, LlmPromptStyle.Lean })
        {
            double words = 0, tokens = 0;
            foreach (var item in items)
            {
                var messages = LlmPrompt.Messages(task, item, style);
                words += messages.Sum(m => GroqStandIn.CountTokens(m.Content));
                var request = new CountTokensRequest();
                request.Messages.AddRange(messages.Select(m => new Contracts.V1.ChatMessage { Role = m.Role, Content = m.Content }));
                tokens += (await client.CountTokensAsync(request)).TokenCount;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {LlmPrompt.Name(style),-5} {words / items.Count,8:F1} words {tokens / items.Count,8:F1} tokens per query"));
        }
    }
}
