using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Cli.Commands;
using Shepherd.Core.Configuration;
using Shepherd.Core.Datasets;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Core.Tasks;
using Shepherd.Llm.Storage;
using Shepherd.Slm;
using Shepherd.TestSupport;

namespace Shepherd.Cli.Tests;

/// <summary>
/// `shepherd label` against a real slm-service (stories260K) and the Groq stand-in, which answers each GSM8K
/// question with its reference solution: a run killed half-way and restarted pays for nothing twice and writes
/// the same labels as an uninterrupted run.
/// </summary>
public sealed partial class LabelResumeTests : IAsyncLifetime
{
    private const int Queries = 4;
    private readonly string _work = Directory.CreateTempSubdirectory("shepherd-label-").FullName;
    private WebApplication? _slm;
    private GroqStandIn? _groq;
    private Uri? _slmAddress;

    public async Task InitializeAsync()
    {
        if (ShepherdPaths.FixtureModel is null || ShepherdPaths.DataDirectory is null)
        {
            return;
        }

        var references = DatasetCatalog.Load("gsm8k", "train", ShepherdPaths.DataDirectory).Take(Queries).ToDictionary(i => i.Query, i => i.Reference);
        _groq = await GroqStandIn.StartAsync();
        _groq.Answer = prompt => references.First(r => prompt.Contains(r.Key, StringComparison.Ordinal)).Value.Replace('\n', ' ');
        await File.WriteAllTextAsync(Path.Combine(_work, "key"), GroqStandIn.ValidKey);
        _slm = SlmApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Slm:ModelPath"] = ShepherdPaths.FixtureModel;
            b.Configuration["Slm:Threads"] = "1";
            b.Configuration["Logging:LogLevel:Default"] = "Warning";
            b.Configuration["Logging:LogLevel:llama.cpp"] = "Error";
        });
        await _slm.StartAsync();
        _slmAddress = new Uri(_slm.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async Task DisposeAsync()
    {
        if (_slm is not null)
        {
            await _slm.StopAsync();
            await _slm.DisposeAsync();
        }

        if (_groq is not null)
        {
            await _groq.DisposeAsync();
        }

        Directory.Delete(_work, recursive: true);
    }

    [SkippableFact]
    public async Task AKilledRunResumesWithoutPayingTwiceAndLabelsAlike()
    {
        Skip.If(_slmAddress is null, "needs ../shared (stories260K.gguf and GSM8K): set SHEPHERD_MODELS / SHEPHERD_DATA");

        var interrupted = Settings("interrupted");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => LabelCommand.RunAsync(interrupted, interactive: false, CancellationToken.None, stopAfter: s => s.Done >= 2));
        var afterKill = LabelFile.ReadAll(interrupted.Output);
        Assert.InRange(afterKill.Count, 2, Queries - 1);
        var callsBeforeResume = _groq!.RequestCount;

        var resumed = await LabelCommand.RunAsync(interrupted, interactive: false, CancellationToken.None);
        var uninterrupted = await LabelCommand.RunAsync(Settings("uninterrupted"), interactive: false, CancellationToken.None);

        Assert.NotNull(resumed);
        Assert.Equal(afterKill.Count, resumed!.Skipped);
        Assert.Equal(Queries - afterKill.Count, _groq.RequestCount - callsBeforeResume - Queries);
        Assert.Equal(Queries, await BilledLlmCalls(interrupted.Database));
        Assert.Equal(Queries, await BilledLlmCalls(Settings("uninterrupted").Database));
        var a = LabelFile.ReadAll(interrupted.Output).OrderBy(r => r.Id).Select(LabelFile.Format).ToArray();
        var b = LabelFile.ReadAll(Settings("uninterrupted").Output).OrderBy(r => r.Id).Select(LabelFile.Format).ToArray();
        Assert.Equal(b, a);
        Assert.Equal(Queries, a.Length);
        Assert.All(LabelFile.ReadAll(interrupted.Output), r =>
        {
            Assert.True(r.LlmPassed);
            Assert.Equal(10, r.Levels.Count);
            Assert.Equal(3, r.Samples);
        });
    }

    [SkippableFact]
    public async Task TheCallsLadderPaysOneCallPerLevelAndPrefixPaysOne()
    {
        Skip.If(_slmAddress is null, "needs ../shared (stories260K.gguf and GSM8K): set SHEPHERD_MODELS / SHEPHERD_DATA");

        var prefix = await LabelCommand.RunAsync(Settings("prefix") with { Limit = 1 }, interactive: false, CancellationToken.None);
        var calls = await LabelCommand.RunAsync(Settings("calls") with { Limit = 1, Ladder = LadderMode.Calls }, interactive: false, CancellationToken.None);

        Assert.Equal(1, prefix!.LlmCallsPaid);
        Assert.Equal(10, calls!.LlmCallsPaid);
        Assert.Equal(calls.LlmPromptTokensPaid, prefix.CallsEquivalentPromptTokens);
        Assert.Equal(calls.LlmCompletionTokensPaid, prefix.CallsEquivalentCompletionTokens);
        var ratio = (double)(calls.LlmPromptTokensPaid + calls.LlmCompletionTokensPaid) / (prefix.LlmPromptTokensPaid + prefix.LlmCompletionTokensPaid);
        Assert.True(ratio >= 5, $"prefix reuse should pay at least 5x fewer LLM tokens; got {ratio:F1}x");
    }

    [SkippableFact]
    public async Task APrefixLadderWhoseTokenizerDiffersFromTheLlmsFallsBackToPerLevelCalls()
    {
        Skip.If(_slmAddress is null, "needs ../shared (stories260K.gguf and GSM8K): set SHEPHERD_MODELS / SHEPHERD_DATA");

        // The stand-in LLM counts whitespace words; the cutting tokenizer is stories260K's, so re-tokenising the
        // answer does not give back completion_tokens and each record buys its levels instead.
        var settings = Settings("fallback") with { Limit = 1, OnPrefixCheckFailure = PrefixCheckFailure.Fallback };
        var stats = await LabelCommand.RunAsync(settings, interactive: false, CancellationToken.None);

        Assert.Equal(10, stats!.LlmCallsPaid);
        Assert.All(LabelFile.ReadAll(settings.Output), r =>
        {
            Assert.Equal("calls", r.Ladder);
            Assert.Contains("the cutting tokenizer counts", r.LadderCheck, StringComparison.Ordinal);
        });

        // With --prefix-check flag the record keeps its one call and says why it is suspect.
        var flagged = Settings("prefix-flagged") with { Limit = 1 };
        Assert.Equal(1, (await LabelCommand.RunAsync(flagged, interactive: false, CancellationToken.None))!.LlmCallsPaid);
        Assert.All(LabelFile.ReadAll(flagged.Output), r =>
        {
            Assert.Equal("prefix", r.Ladder);
            Assert.NotNull(r.LadderCheck);
        });
    }

    [SkippableFact]
    public async Task BatchLabellingBooksEachAnswerOnceAtTheBatchPriceAndResumesWithoutResubmitting()
    {
        Skip.If(_slmAddress is null, "needs ../shared (stories260K.gguf and GSM8K): set SHEPHERD_MODELS / SHEPHERD_DATA");
        var settings = Settings("batch") with { LlmBatch = true, LlmPrompt = LlmPromptStyle.Lean };
        _groq!.BatchPollsToFinish = int.MaxValue;
        // One request fails in the batch: its query is called at list price by the labelling that follows.
        var failing = "full-1";
        _groq.BatchFails = id => id == failing;
        var syncBefore = _groq.RequestCount;

        // Killed while the batch runs: the batch id is stored, nothing is labelled yet.
        using (var kill = new CancellationTokenSource())
        {
            var polls = 0;
            var run = LabelCommand.RunAsync(settings, interactive: false, kill.Token);
            while (!File.Exists(Shepherd.Cli.Labelling.LabelBatch.StateFile(settings.Output)) && polls++ < 500)
            {
                await Task.Delay(10);
            }

            await kill.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        }

        Assert.Equal(1, _groq.BatchesCreated);
        Assert.Empty(_groq.BatchLines);
        _groq.BatchPollsToFinish = 3;
        var stats = await LabelCommand.RunAsync(settings, interactive: false, CancellationToken.None);

        // Resumed: the stored batch, not a new one; uploaded once; every query's full answer asked once in it.
        Assert.Equal(1, _groq.BatchesCreated);
        Assert.Equal(1, _groq.FilesUploaded);
        Assert.Equal(Queries, _groq.BatchLines.Count);
        Assert.False(File.Exists(Shepherd.Cli.Labelling.LabelBatch.StateFile(settings.Output)));
        Assert.Equal(Queries - 1, stats!.Batch!.Answered);
        Assert.Equal(1, stats.Batch.Failed);
        // The failed one is the only synchronous call; the others came from the cache.
        Assert.Equal(1, _groq.RequestCount - syncBefore);
        Assert.Equal(1, stats.LlmCallsPaid);
        Assert.Equal(Queries, LabelFile.ReadAll(settings.Output).Count);

        // Booked once each in the ledger; the batch ones at half price.
        var ledger = Shepherd.Llm.PaidLlmFactory.Ledger(new StorageOptions { SqlitePath = settings.Database });
        var totals = await ledger.TotalsAsync("label", null, null, CancellationToken.None);
        Assert.Equal(Queries, totals.Where(t => t.Strategy == "label").Sum(t => t.Calls));
        var listPrice = new Shepherd.Core.Cost.ModelPrice(0.59, 0.79);
        Assert.Equal(listPrice.Batch.Input(stats.Batch.PromptTokens) + listPrice.Batch.Output(stats.Batch.CompletionTokens), stats.Batch.Usd, 12);
        Assert.True(stats.Batch.Usd > 0);

        // A second run pays nothing: everything is labelled; nothing is batched or called.
        var again = await LabelCommand.RunAsync(settings, interactive: false, CancellationToken.None);
        Assert.Equal(1, _groq.BatchesCreated);
        Assert.Equal(0, again!.PaidUsd);
    }

    [SkippableFact]
    public async Task BatchLabellingWithTheCallsLadderBatchesEveryLevelToo()
    {
        Skip.If(_slmAddress is null, "needs ../shared (stories260K.gguf and GSM8K): set SHEPHERD_MODELS / SHEPHERD_DATA");
        var settings = Settings("batch-calls") with { Limit = 2, LlmBatch = true, Ladder = LadderMode.Calls };
        var batchesBefore = _groq!.BatchesCreated;
        var syncBefore = _groq.RequestCount;

        var stats = await LabelCommand.RunAsync(settings, interactive: false, CancellationToken.None);

        Assert.Equal(2, _groq.BatchesCreated - batchesBefore);
        Assert.Equal(0, _groq.RequestCount - syncBefore);
        Assert.Equal(0, stats!.LlmCallsPaid);
        Assert.Equal(stats.CallsEquivalentCompletionTokens, stats.Batch!.CompletionTokens);
        Assert.All(LabelFile.ReadAll(settings.Output), r => Assert.Equal("calls", r.Ladder));
    }

    private static async Task<long> BilledLlmCalls(string database)
    {
        var ledger = Shepherd.Llm.PaidLlmFactory.Ledger(new StorageOptions { SqlitePath = database });
        var totals = await ledger.TotalsAsync("label", null, null, CancellationToken.None);
        return totals.Where(t => t.Strategy == "label").Sum(t => t.Calls);
    }

    private LabelCommand.Settings Settings(string name) => new(
        "gsm8k", "train", Queries, Path.Combine(_work, name + ".jsonl"), LadderMode.Prefix, Trials: 1, Samples: 3, Concurrency: 1, MaxUsd: null,
        OutlierThreshold: 0, MaxAnswerTokens: 256, SlmMaxTokens: 16, Path.Combine(_work, name + ".db"),
        _groq!.BaseUrl, "llama-3.3-70b-versatile", Path.Combine(_work, "key"), _slmAddress, null, DropUnhelpable: false,
        // The stand-in counts words, the cutter stories260K's tokens: the check fails, and these tests keep the
        // prefix ladder (flagged) to compare it with calls. PrefixLadderFallsBack… shows the default.
        OnPrefixCheckFailure: PrefixCheckFailure.Flag, BatchPollInterval: TimeSpan.FromMilliseconds(20));
}
