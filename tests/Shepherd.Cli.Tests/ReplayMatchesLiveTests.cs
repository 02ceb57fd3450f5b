using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Cli.Evaluation;
using Shepherd.Cli.Hosting;
using Shepherd.Cli.Labelling;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Core.Datasets;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Core.Tasks;
using Shepherd.Llm;
using Shepherd.Llm.Storage;
using Shepherd.Orchestrator;
using Shepherd.Policy;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Slm;
using Shepherd.TestSupport;

namespace Shepherd.Cli.Tests;

/// <summary>
/// Replay and live agree: the same GSM8K queries answered live by every strategy (real slm-service, policy-service
/// and orchestrator on loopback, the Groq stand-in as the LLM) and replayed from labels recorded against the same
/// models give the same per-strategy accuracy and cost. Greedy SLM decoding makes both sides see the same samples.
/// </summary>
public sealed class ReplayMatchesLiveTests : IAsyncLifetime
{
    private const int Queries = 3;
    private const int SlmTokens = 16;
    private readonly string _work = Directory.CreateTempSubdirectory("shepherd-replay-live-").FullName;
    private readonly List<WebApplication> _apps = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Directory.Delete(_work, recursive: true);
    }

    [SkippableFact]
    public async Task ReplayingRecordedLabelsGivesTheLiveAccuracyAndCostOfEveryStrategy()
    {
        Skip.If(ShepherdPaths.FixtureModel is null || ShepherdPaths.DataDirectory is null, "needs ../shared (stories260K.gguf and GSM8K)");

        var items = DatasetCatalog.Load("gsm8k", "test", ShepherdPaths.DataDirectory).Take(Queries).ToArray();
        var (proactive, reactive) = LocalStack.EnsureDemoBundles(_work);
        foreach (var bundle in new[] { proactive, reactive })
        {
            // α = 0 puts every query through the size head; a large η keeps hints hints, so the hint path is exercised.
            PolicyBundle.WriteThresholds(bundle, 0, 100_000);
        }

        // The LLM's answers are longer than any hint the policy may ask for (N_max), so a hint is always a true prefix.
        var nMax = Math.Max(PolicyBundle.ReadManifest(proactive).NMax, PolicyBundle.ReadManifest(reactive).NMax);
        var filler = string.Join(' ', Enumerable.Repeat("step", nMax + 40));
        var references = items.ToDictionary(i => i.Query, i => i.Reference.Replace('\n', ' '));
        await using var groq = await GroqStandIn.StartAsync();
        groq.Answer = prompt => filler + " " + references.First(r => prompt.Contains(r.Key, StringComparison.Ordinal)).Value;
        var answerTokens = nMax + 400;
        var keyFile = Path.Combine(_work, "key");
        await File.WriteAllTextAsync(keyFile, GroqStandIn.ValidKey);

        var slm = await StartAsync(SlmApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Slm:ModelPath"] = ShepherdPaths.FixtureModel;
            b.Configuration["Slm:Threads"] = "1";
            Quiet(b);
        }));
        var policy = await StartAsync(PolicyServiceHost.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Policy:BundlePath"] = proactive;
            b.Configuration["Policy:AdditionalBundlePaths:0"] = reactive;
            Quiet(b);
        }));
        var orchestrator = await StartAsync(OrchestratorApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Orchestrator:SlmAddress"] = slm;
            b.Configuration["Orchestrator:PolicyAddress"] = policy;
            b.Configuration["Orchestrator:SampleTemperature"] = "0";
            b.Configuration["Orchestrator:SlmMaxTokens"] = SlmTokens.ToString(System.Globalization.CultureInfo.InvariantCulture);
            b.Configuration["Llm:BaseUrl"] = groq.BaseUrl;
            b.Configuration["Llm:ApiKeyFile"] = keyFile;
            b.Configuration["Llm:ApiKeyVariable"] = "SHEPHERD_TEST_UNSET_KEY_VARIABLE";
            b.Configuration["Llm:MaxAnswerTokens"] = answerTokens.ToString(System.Globalization.CultureInfo.InvariantCulture);
            b.Configuration["Storage:SqlitePath"] = Path.Combine(_work, "orchestrator.db");
            b.Configuration["Storage:HintCacheEnabled"] = "false";
            Quiet(b);
        }));

        // Labels, recorded against the same models.
        await using var llm = LabelLlm.Build(new Uri(slm), LabelLlm.Settings(Path.Combine(_work, "labels.db"), answerTokens, groq.BaseUrl, model: null, keyFile, hintCache: false));
        var labeller = new Labeller(
            new ServiceLabelModels(
                llm.GetRequiredService<PaidLlm>(), llm.GetRequiredService<ILedger>(), llm.GetRequiredService<TokenCutter>(), llm.GetRequiredService<SlmService.SlmServiceClient>(),
                SlmTokens),
            // The stand-in's words are not stories260K's tokens, so every record fails the prefix check; its per-level
            // fallback would buy hints of up to 90 % of a ~(N_max + 100)-word answer, past the toy model's 2,048-token
            // context. Flag keeps the prefix ladder this test was built on.
            new LabelOptions { Temperature = 0, MaxAnswerTokens = answerTokens, OutlierThreshold = 0, DropUnhelpable = false, OnPrefixCheckFailure = PrefixCheckFailure.Flag });
        var task = TaskRegistry.Shared.Get("gsm8k");
        var records = new List<LabelRecord>();
        foreach (var item in items)
        {
            records.Add((await labeller.LabelAsync(task, item, LabelSplit.Test, CancellationToken.None)).Record!);
        }

        // Live, every strategy.
        using var channel = GrpcChannel.ForAddress(orchestrator);
        var client = new ShepherdService.ShepherdServiceClient(channel);
        var live = new List<LiveResult>();
        foreach (var strategy in LiveRunner.AllStrategies)
        {
            foreach (var item in items)
            {
                var response = await client.AnswerAsync(LiveRunner.Request("gsm8k", strategy, item));
                var passed = (await task.GradeAsync(item, response.Answer)).Passed;
                live.Add(new LiveResult(strategy, item.Id, passed, response.Cost.TotalUsd + response.Cost.CacheSavingsUsd, LiveRunner.AnsweredBy(response)));
            }
        }

        var liveReport = LiveReport.Build("live", live, 0.9, []);
        var replayReport = ReplayRunner.Evaluate(
            records, proactive, reactive, ReplayRunner.Options(0.59, 0.79, 0, 0, trials: null),
            new ReportSettings { Title = "replay", ScorerThreshold = 0.5 }, agree: null, CancellationToken.None);

        Assert.Contains(live, r => r.Passed);
        Assert.Contains(live, r => !r.Passed);
        Assert.Contains(live, r => r.AnsweredBy == "hinted");
        Assert.Equal(live.Count(r => r.Strategy == "proactive" && r.AnsweredBy == "hinted"), replayReport.Row("proactive")!.Hinted);
        foreach (var strategy in LiveRunner.AllStrategies)
        {
            var a = liveReport.Row(strategy)!;
            var b = replayReport.Row(strategy)!;
            Assert.True(Math.Abs(a.AccuracyPercent - b.AccuracyPercent) < 1e-9, $"{strategy}: live accuracy {a.AccuracyPercent} %, replay {b.AccuracyPercent} %");
            Assert.True(Math.Abs(a.CostUsd - b.CostUsd) < 1e-12, $"{strategy}: live cost ${a.CostUsd}, replay ${b.CostUsd}");
        }
    }

    private static void Quiet(WebApplicationBuilder b)
    {
        b.Configuration["Logging:LogLevel:Default"] = "Warning";
        b.Configuration["Logging:LogLevel:llama.cpp"] = "Error";
    }

    private async Task<string> StartAsync(WebApplication app)
    {
        await app.StartAsync();
        _apps.Add(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }
}
