using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Contracts.V1;
using System.Text.RegularExpressions;
using Shepherd.TestSupport;
using Xunit.Abstractions;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests.Telemetry;

/// <summary>
/// The Prometheus endpoints of the four processes, scraped before and after one Answer through the edge: each counter
/// and histogram moves by what that answer did, computed here from its response and what the Groq stand-in received.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class MetricsTests(EndToEndStack stack, ITestOutputHelper output) : IDisposable
{
    private const string Question = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";
    private const string HintPath = "policy.proactive>llm.hint>slm.with_hint";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [SkippableFact]
    public async Task OneProactiveAnswerMovesEveryServicesMetricsByWhatItDid()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var before = await ScrapeAllAsync();
        var query = UniqueQuery(Question);

        var response = await stack.Client.AnswerAsync(
            new AnswerRequest { Query = query, Task = TaskKind.Gsm8K, Strategy = Strategy.Proactive, Alpha = 0, EtaHint = 100_000, MaxHintTokens = 3 },
            Team.Headers, deadline: DateTime.UtcNow.AddSeconds(60));
        var after = await ScrapeAllAsync();

        Assert.Equal(HintPath, string.Join('>', response.Path));
        var sent = stack.LlmRequestContaining(query);
        var slmUsage = Assert.Single(response.Usage, u => u.Role == "slm");
        var delta = (string name, string[] labels) => Orchestrators(after, name, labels) - Orchestrators(before, name, labels);

        // Orchestrator: the answer by strategy and path, what it paid and bought, and what the LLM alone would have cost.
        Assert.Equal(1, delta("shepherd_orchestrator_answers_total", ["strategy=proactive", $"path={HintPath}", "degraded=false"]));
        Assert.Equal(response.Cost.LlmInputUsd, delta("shepherd_orchestrator_llm_spent_usd_total", ["direction=input"]), 1e-12);
        Assert.Equal(response.Cost.LlmOutputUsd, delta("shepherd_orchestrator_llm_spent_usd_total", ["direction=output"]), 1e-12);
        Assert.Equal(response.Hint.Tokens, delta("shepherd_orchestrator_hint_tokens_total", []));
        Assert.Equal(0, delta("shepherd_orchestrator_hint_cache_hits_total", []));
        var llmOnly = (PromptTokens(sent) * InputUsdPerToken) + (slmUsage.CompletionTokens * OutputUsdPerToken);
        Assert.Equal(llmOnly, delta("shepherd_orchestrator_llm_only_usd_total", []), 1e-12);
        foreach (var stage in response.Path)
        {
            Assert.Equal(1, delta("shepherd_orchestrator_stage_duration_seconds_count", [$"stage={stage}"]));
        }

        Assert.Equal(1, delta("shepherd_orchestrator_answer_duration_seconds_count", ["strategy=proactive"]));

        // slm: one call (with the hint), its tokens and its prefill/decode timings; the queue is empty again.
        Assert.Equal(slmUsage.CompletionTokens, Delta("slm", "shepherd_slm_generated_tokens_total"));
        Assert.Equal(slmUsage.PromptTokens, Delta("slm", "shepherd_slm_prompt_tokens_total"));
        Assert.Equal(1, Delta("slm", "shepherd_slm_prefill_duration_seconds_count"));
        Assert.Equal(1, Delta("slm", "shepherd_slm_decode_duration_seconds_count"));
        Assert.True(after["slm"].Has("shepherd_slm_queue_length"), "the slm exports its queue length");
        Assert.Equal(0, after["slm"].Sum("shepherd_slm_queue_length"));

        // policy: one proactive prediction, one encoder run of one query.
        Assert.Equal(1, Delta("policy", "shepherd_policy_predict_duration_seconds_count", "mode=proactive"));
        Assert.Equal(1, Delta("policy", "shepherd_policy_batch_size_count"));
        Assert.Equal(1, Delta("policy", "shepherd_policy_batch_size_sum"));

        // edge: one request forwarded for the key id "team"; the key itself appears nowhere.
        Assert.Equal(1, Delta("edge", "shepherd_edge_requests_total", "route=shepherd", $"key_id={Team.Id}"));
        Assert.DoesNotContain(Team.Secret, after["edge"].Text, StringComparison.Ordinal);

        // A budget too small for any LLM call: the SLM answers, degraded for that cause; and a call the edge refuses.
        var degraded = await stack.Client.AnswerAsync(
            new AnswerRequest { Query = UniqueQuery(Question), Task = TaskKind.Gsm8K, Strategy = Strategy.Llm, BudgetUsd = 1e-12 }, Team.Headers, deadline: DateTime.UtcNow.AddSeconds(60));
        await Assert.ThrowsAsync<RpcException>(() => stack.Client.AnswerAsync(new AnswerRequest { Query = "What is 6 * 7?" }).ResponseAsync);
        var last = await ScrapeAllAsync();
        Assert.True(degraded.Degraded);
        Assert.Equal(1, Orchestrators(last, "shepherd_orchestrator_answers_degraded_total", ["strategy=llm", "cause=budget_exhausted"]) - Orchestrators(after, "shepherd_orchestrator_answers_degraded_total", ["strategy=llm", "cause=budget_exhausted"]));

        // The dashboard reads only metrics these processes export.
        var exported = last.Values.SelectMany(a => a.Samples).Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        var dashboard = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", "grafana", "shepherd-dashboard.json"));
        var used = DashboardMetric().Matches(dashboard).Select(m => m.Value).Distinct().ToArray();
        Assert.NotEmpty(used);
        Assert.All(used, name => Assert.Contains(name, exported));

        output.WriteLine(string.Join('\n', after.Where(a => a.Key.StartsWith("orchestrator", StringComparison.Ordinal))
            .SelectMany(a => a.Value.Text.Split('\n')).Where(l => l.StartsWith("shepherd_orchestrator_", StringComparison.Ordinal) && !l.Contains("_bucket{", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal))));

        double Delta(string service, string name, params string[] labels) => after[service].Sum(name, labels) - before[service].Sum(name, labels);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Shepherd.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Shepherd.sln not found above the test's output directory");
    }

    [GeneratedRegex(@"shepherd_[a-z_]+")]
    private static partial Regex DashboardMetric();

    [SkippableFact]
    public async Task EdgeCountsRefusalsByReasonAndKeyIdButNeverTheKey()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var before = await ScrapeAsync("edge");
        const string wrongKey = "shk_not_a_configured_key_7d1e";

        var unknown = await Assert.ThrowsAsync<RpcException>(() => stack.Client.AnswerAsync(
            new AnswerRequest { Query = "What is 6 * 7?" }, new Metadata { { "authorization", $"Bearer {wrongKey}" } }).ResponseAsync);
        var missing = await Assert.ThrowsAsync<RpcException>(() => stack.Client.AnswerAsync(new AnswerRequest { Query = "What is 6 * 7?" }).ResponseAsync);
        var admin = await Assert.ThrowsAsync<RpcException>(() => new SlmService.SlmServiceClient(GrpcChannel.ForAddress(stack.EdgeAddress))
            .InfoAsync(new SlmServiceInfoRequest(), Team.Headers).ResponseAsync);
        var after = await ScrapeAsync("edge");

        Assert.Equal(StatusCode.Unauthenticated, unknown.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, admin.StatusCode);
        Assert.Equal(1, Delta("reason=auth", "key_id=unknown"));
        Assert.Equal(1, Delta("reason=auth", "key_id=none"));
        Assert.Equal(1, Delta("reason=permission", $"key_id={Team.Id}", "route=slm-admin"));
        Assert.DoesNotContain(wrongKey, after.Text, StringComparison.Ordinal);

        double Delta(params string[] labels) => after.Sum("shepherd_edge_refusals_total", labels) - before.Sum("shepherd_edge_refusals_total", labels);
    }

    [SkippableFact]
    public async Task ACachedHintCountsAHitAndTheUsdItSavedAndBuysNoTokens()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        // Straight to one replica (no identity: an internal caller), so both calls meet the same LLM source and cache.
        var replica = stack.Replicas[0];
        using var channel = GrpcChannel.ForAddress(replica.Address);
        var client = new ShepherdService.ShepherdServiceClient(channel);
        var request = new AnswerRequest { Query = UniqueQuery(Question), Task = TaskKind.Gsm8K, Strategy = Strategy.Proactive, Alpha = 0, EtaHint = 100_000, MaxHintTokens = 3 };
        var first = await client.AnswerAsync(request, deadline: DateTime.UtcNow.AddSeconds(60));
        var before = await ScrapeAsync("orchestrator-a");

        var second = await client.AnswerAsync(request, deadline: DateTime.UtcNow.AddSeconds(60));
        var after = await ScrapeAsync("orchestrator-a");

        Assert.False(first.Hint.Cached);
        Assert.True(second.Hint.Cached);
        Assert.Equal(1, after.Sum("shepherd_orchestrator_hint_cache_hits_total") - before.Sum("shepherd_orchestrator_hint_cache_hits_total"));
        Assert.Equal(first.Cost.LlmInputUsd + first.Cost.LlmOutputUsd,
            after.Sum("shepherd_orchestrator_hint_cache_saved_usd_total") - before.Sum("shepherd_orchestrator_hint_cache_saved_usd_total"), 1e-12);
        Assert.Equal(0, after.Sum("shepherd_orchestrator_hint_tokens_total") - before.Sum("shepherd_orchestrator_hint_tokens_total"));
        Assert.Equal(0, after.Sum("shepherd_orchestrator_llm_spent_usd_total") - before.Sum("shepherd_orchestrator_llm_spent_usd_total"), 1e-15);
    }

    [SkippableFact]
    public async Task TheEdgesPublicListenerServesNoMetrics()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        using var h2c = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(stack.EdgeAddress, "/metrics"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        // Even a Host header naming the metrics port changes nothing: the listener, not the Host, decides.
        request.Headers.Host = stack.MetricsUrl("edge").Authority;

        using var response = await h2c.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("# TYPE", (await ScrapeAsync("edge")).Text, StringComparison.Ordinal);
    }

    public void Dispose() => _http.Dispose();

    private static double Orchestrators(IReadOnlyDictionary<string, PrometheusScrape> scrapes, string name, string[] labels) =>
        scrapes["orchestrator-a"].Sum(name, labels) + scrapes["orchestrator-b"].Sum(name, labels);

    private Task<PrometheusScrape> ScrapeAsync(string service) => PrometheusScrape.FetchAsync(_http, stack.MetricsUrl(service));

    private async Task<IReadOnlyDictionary<string, PrometheusScrape>> ScrapeAllAsync()
    {
        string[] services = ["slm", "policy", "orchestrator-a", "orchestrator-b", "edge"];
        var scrapes = await Task.WhenAll(services.Select(ScrapeAsync));
        return services.Zip(scrapes).ToDictionary(p => p.First, p => p.Second);
    }
}
