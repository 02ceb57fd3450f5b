using System.Text.Json;
using Shepherd.Core.Configuration;
using Shepherd.TestSupport;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests;

/// <summary>
/// Clients of the HTTP/1.1 listener that share no code with Shepherd: the official OpenAI Node SDK
/// (tests/clients/node/openai.mjs) and buf curl speaking gRPC-Web.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class OpenAiOtherClientTests(EndToEndStack stack)
{
    private const string Question = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(90);

    private static string Root => ShepherdPaths.RepositoryRoot!;

    private static string NodeClientDirectory => Path.Combine(Root, "tests", "clients", "node");

    [SkippableFact]
    public async Task NodeSdkListsOneModelPerStrategy()
    {
        var ids = (await NodeAsync("models", Team.Secret)).GetProperty("ids").EnumerateArray().Select(i => i.GetString()).ToArray();

        Assert.Equal(Core.Strategies.StrategyNames.Wire.Select(w => "shepherd-" + w), ids);
    }

    [SkippableFact]
    public async Task NodeSdkCompletesWithTheShepherdObject()
    {
        var query = UniqueQuery(Question);

        var completion = await NodeAsync("completion", Team.Secret, query);

        var sent = stack.LlmRequestContaining(query);
        var answer = stack.Replicas[0].Groq.Answer("");
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal("shepherd-llm", completion.GetProperty("model").GetString());
        var choice = completion.GetProperty("choices").EnumerateArray().Single();
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(answer, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = completion.GetProperty("usage");
        Assert.Equal(PromptTokens(sent), usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(GroqStandIn.CountTokens(answer), usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(PromptTokens(sent) + GroqStandIn.CountTokens(answer), usage.GetProperty("total_tokens").GetInt32());
        OpenAiSdkTests.AssertPaidLlmAnswer(completion.GetProperty("shepherd"), sent, answer);
        // shepherd.task = gsm8k reached the pipeline: the GSM8K prompt asks for the answer after "####".
        Assert.Contains(sent["messages"]!.AsArray(), m => m!["content"]!.GetValue<string>().Contains("####", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task NodeSdkStreamsChunksEndingInStopAndUsage()
    {
        var query = UniqueQuery(Question);

        var chunks = (await NodeAsync("stream", Team.Secret, query)).GetProperty("chunks").EnumerateArray().ToArray();

        var answer = stack.Replicas[0].Groq.Answer("");
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        var choices = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).ToArray();
        Assert.Equal("assistant", choices[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(answer, string.Concat(choices.Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal("stop", choices[^1].GetProperty("finish_reason").GetString());
        var last = chunks[^1];
        Assert.Empty(last.GetProperty("choices").EnumerateArray());
        Assert.Equal(GroqStandIn.CountTokens(answer), last.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        OpenAiSdkTests.AssertPaidLlmAnswer(chunks[^2].GetProperty("shepherd"), stack.LlmRequestContaining(query), answer);
    }

    [SkippableFact]
    public async Task NodeSdkSeesA400NamingTheExtensionParameter()
    {
        var error = (await NodeAsync("bad-parameter", Team.Secret)).GetProperty("error");

        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("shepherd.alpha", error.GetProperty("param").GetString());
        Assert.Contains("[0, 1]", error.GetProperty("message").GetString());
    }

    [SkippableFact]
    public async Task NodeSdkWithoutAKeySeesA401()
    {
        var error = (await NodeAsync("missing-key", Team.Secret)).GetProperty("error");

        Assert.Equal(401, error.GetProperty("status").GetInt32());
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
    }

    [SkippableFact]
    public async Task NodeSdkOverTheKeysRateSees429WithRetryAfter()
    {
        var output = await NodeAsync("rate-limited", Tight.Secret);
        var results = output.GetProperty("results").EnumerateArray().ToArray();

        var refused = results.Where(r => r.TryGetProperty("error", out _)).Select(r => r.GetProperty("error")).ToArray();
        Tight.AssertRefusedAtLeast(refused.Length, results.Length, TimeSpan.FromMilliseconds(output.GetProperty("elapsedMs").GetDouble()));
        Assert.All(refused, e =>
        {
            Assert.Equal(429, e.GetProperty("status").GetInt32());
            Assert.Equal("rate_limit_exceeded", e.GetProperty("code").GetString());
            Assert.True(int.Parse(e.GetProperty("retryAfter").GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        });
    }

    [SkippableFact]
    public async Task BufCurlAnswersOverGrpcWebThroughTheEdge()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var buf = ExternalTool.Find("buf");
        Skip.If(buf is null, "buf is not on PATH (.ci/run installs it from npm)");
        var query = UniqueQuery(Question);
        var body = JsonSerializer.Serialize(new { query, task = "TASK_KIND_GSM8K", strategy = "STRATEGY_LLM" });

        // gRPC-Web over HTTP/1.1; the schema from the .proto files (reflection is a bidi stream, which gRPC-Web cannot carry).
        var (exitCode, stdout, stderr) = await ExternalTool.RunAsync(
            buf!,
            ["curl", "--schema", Path.Combine(Root, "protos"), "--protocol", "grpcweb", "-H", $"authorization: Bearer {Team.Secret}", "-d", body,
                new Uri(stack.EdgeHttp1Address, "shepherd.v1.ShepherdService/Answer").ToString()],
            ToolTimeout, Root);

        Assert.True(exitCode == 0, $"buf curl exited {exitCode}: {stderr}");
        using var json = JsonDocument.Parse(stdout);
        var response = json.RootElement;
        Assert.Equal(stack.Replicas[0].Groq.Answer(""), response.GetProperty("answer").GetString());
        Assert.Equal("14", response.GetProperty("finalAnswer").GetString());
        Assert.Equal(["llm.answer"], response.GetProperty("path").EnumerateArray().Select(p => p.GetString()));
        // proto3 JSON leaves out false: llm_stand_in is absent or false (the Groq stand-in is not the local stand-in LLM).
        Assert.False(response.TryGetProperty("llmStandIn", out var standIn) && standIn.GetBoolean());
        stack.LlmRequestContaining(query);
    }

    [SkippableFact]
    public async Task BufCurlOverGrpcWebWithoutAKeyIsUnauthenticated()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var buf = ExternalTool.Find("buf");
        Skip.If(buf is null, "buf is not on PATH (.ci/run installs it from npm)");

        var (exitCode, _, stderr) = await ExternalTool.RunAsync(
            buf!,
            ["curl", "--schema", Path.Combine(Root, "protos"), "--protocol", "grpcweb", "-d", "{\"query\":\"What is 6 * 7?\"}",
                new Uri(stack.EdgeHttp1Address, "shepherd.v1.ShepherdService/Answer").ToString()],
            ToolTimeout, Root);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("unauthenticated", stderr);
    }

    private async Task<JsonElement> NodeAsync(string scenario, string key, string query = "What is 6 * 7?")
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var node = ExternalTool.Find("node");
        Skip.If(node is null, "node is not on PATH (.ci/run installs nodejs)");
        Skip.IfNot(
            Directory.Exists(Path.Combine(NodeClientDirectory, "node_modules", "openai")),
            "tests/clients/node has no node_modules/openai: run `npm ci --prefix tests/clients/node` (.ci/run does)");

        var (exitCode, stdout, stderr) = await ExternalTool.RunAsync(
            node!,
            [Path.Combine(NodeClientDirectory, "openai.mjs"), new Uri(stack.EdgeHttp1Address, "v1").ToString(), scenario, query],
            ToolTimeout,
            Root,
            new Dictionary<string, string?> { ["SHEPHERD_API_KEY"] = key });

        Assert.True(exitCode == 0, $"node exited {exitCode}: {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }
}
