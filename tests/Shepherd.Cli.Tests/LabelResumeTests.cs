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

    private static async Task<long> BilledLlmCalls(string database)
    {
        var ledger = Shepherd.Llm.PaidLlmFactory.Ledger(new StorageOptions { SqlitePath = database });
        var totals = await ledger.TotalsAsync("label", null, null, CancellationToken.None);
        return totals.Where(t => t.Strategy == "label").Sum(t => t.Calls);
    }

    private LabelCommand.Settings Settings(string name) => new(
        "gsm8k", "train", Queries, Path.Combine(_work, name + ".jsonl"), LadderMode.Prefix, Trials: 1, Samples: 3, Concurrency: 1, MaxUsd: null,
        OutlierThreshold: 0, MaxAnswerTokens: 256, SlmMaxTokens: 16, Path.Combine(_work, name + ".db"),
        _groq!.BaseUrl, "llama-3.3-70b-versatile", Path.Combine(_work, "key"), _slmAddress, null, DropUnhelpable: false);
}
