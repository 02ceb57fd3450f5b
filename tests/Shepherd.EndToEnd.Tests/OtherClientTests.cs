using System.Text.Json;
using Shepherd.Core.Configuration;
using Shepherd.TestSupport;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests;

/// <summary>Clients that share no code with Shepherd: a Node.js script built from the .proto files, and buf curl over reflection.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class OtherClientTests(EndToEndStack stack)
{
    private const string Question = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    private static string Root => ShepherdPaths.RepositoryRoot!;

    private static string NodeClientDirectory => Path.Combine(Root, "tests", "clients", "node");

    [SkippableFact]
    public async Task NodeClientAnswersThroughTheEdgeFromTheProtoFiles()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var node = ExternalTool.Find("node");
        Skip.If(node is null, "node is not on PATH (.ci/run installs nodejs)");
        Skip.IfNot(
            Directory.Exists(Path.Combine(NodeClientDirectory, "node_modules", "@grpc", "grpc-js")),
            "tests/clients/node has no node_modules: run `npm ci --prefix tests/clients/node` (.ci/run does)");
        var query = UniqueQuery(Question);

        var (exitCode, stdout, stderr) = await ExternalTool.RunAsync(
            node!,
            [Path.Combine(NodeClientDirectory, "answer.mjs"), stack.EdgeAddress.ToString(), query, "llm", "gsm8k"],
            ToolTimeout,
            Root,
            new Dictionary<string, string?> { ["SHEPHERD_API_KEY"] = Team.Secret });

        Assert.True(exitCode == 0, $"node exited {exitCode}: {stderr}");
        using var json = JsonDocument.Parse(stdout);
        var response = json.RootElement;
        var sent = stack.LlmRequestContaining(query);
        var completionTokens = GroqStandIn.CountTokens(stack.Replicas[0].Groq.Answer(""));
        Assert.False(string.IsNullOrWhiteSpace(response.GetProperty("answer").GetString()));
        Assert.Equal("14", response.GetProperty("finalAnswer").GetString());
        Assert.Equal("STRATEGY_LLM", response.GetProperty("strategy").GetString());
        Assert.Equal(["llm.answer"], response.GetProperty("path").EnumerateArray().Select(p => p.GetString()));
        var cost = response.GetProperty("cost");
        Assert.Equal(PromptTokens(sent) * InputUsdPerToken, cost.GetProperty("llmInputUsd").GetDouble(), tolerance: 1e-12);
        Assert.Equal(completionTokens * OutputUsdPerToken, cost.GetProperty("llmOutputUsd").GetDouble(), tolerance: 1e-12);
        Assert.Equal(0, cost.GetProperty("slmUsd").GetDouble());
        Assert.Equal((PromptTokens(sent) * InputUsdPerToken) + (completionTokens * OutputUsdPerToken), cost.GetProperty("totalUsd").GetDouble(), tolerance: 1e-12);
        // The Groq stand-in is a real HTTP endpoint to the orchestrator: not the local llama.cpp stand-in LLM.
        Assert.False(response.GetProperty("llmStandIn").GetBoolean());
        Assert.StartsWith("node-", response.GetProperty("requestId").GetString());
    }

    [SkippableFact]
    public async Task NodeClientReportsTheEdgesRefusalOfAWrongKey()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var node = ExternalTool.Find("node");
        Skip.If(node is null, "node is not on PATH (.ci/run installs nodejs)");
        Skip.IfNot(
            Directory.Exists(Path.Combine(NodeClientDirectory, "node_modules", "@grpc", "grpc-js")),
            "tests/clients/node has no node_modules: run `npm ci --prefix tests/clients/node` (.ci/run does)");

        var (exitCode, _, stderr) = await ExternalTool.RunAsync(
            node!,
            [Path.Combine(NodeClientDirectory, "answer.mjs"), stack.EdgeAddress.ToString(), "What is 6 * 7?"],
            ToolTimeout,
            Root,
            new Dictionary<string, string?> { ["SHEPHERD_API_KEY"] = "shk_not_a_key" });

        Assert.Equal(1, exitCode);
        using var json = JsonDocument.Parse(stderr.Trim());
        Assert.Equal("UNAUTHENTICATED", json.RootElement.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task BufCurlListsTheOrchestratorsMethodsAndAnswersThroughTheEdge()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var buf = ExternalTool.Find("buf");
        Skip.If(buf is null, "buf is not on PATH (npm install -g @bufbuild/buf; .ci/run installs it)");
        var edge = stack.EdgeAddress.ToString().TrimEnd('/');
        var query = UniqueQuery(Question);

        var list = await ExternalTool.RunAsync(buf!, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", edge], ToolTimeout);
        var call = await ExternalTool.RunAsync(
            buf!,
            ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", $"authorization: Bearer {Team.Secret}",
                "-d", JsonSerializer.Serialize(new { query, task = "TASK_KIND_GSM8K", strategy = "STRATEGY_LLM" }),
                $"{edge}/shepherd.v1.ShepherdService/Answer"],
            ToolTimeout);

        Assert.True(list.ExitCode == 0, list.StdErr);
        Assert.Contains("shepherd.v1.ShepherdService/Answer", list.StdOut);
        Assert.Contains("shepherd.v1.ShepherdService/Usage", list.StdOut);
        Assert.True(call.ExitCode == 0, call.StdErr);
        using var json = JsonDocument.Parse(call.StdOut);
        Assert.Equal("14", json.RootElement.GetProperty("finalAnswer").GetString());
        Assert.True(json.RootElement.GetProperty("cost").GetProperty("totalUsd").GetDouble() > 0);
    }
}
