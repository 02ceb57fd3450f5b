using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using Shepherd.TestSupport;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests;

/// <summary>
/// The official OpenAI .NET SDK (NuGet OpenAI) against the real edge and orchestrators, the Groq stand-in playing
/// the LLM: a completion, a stream, a bad parameter, a missing key and a rate-limited key, field by field.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class OpenAiSdkTests(EndToEndStack stack)
{
    private const string Question = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";

    [SkippableFact]
    public async Task ACompletionCarriesTheLlmsAnswerItsUsageAndTheShepherdObject()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var query = UniqueQuery(Question);

        var result = await Chat(Team.Secret, "shepherd-llm").CompleteChatAsync([new UserChatMessage(query)]);

        var completion = result.Value;
        var sent = stack.LlmRequestContaining(query);
        var answer = stack.Replicas[0].Groq.Answer("");
        Assert.Equal(answer, completion.Content.Single().Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("shepherd-llm", completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal(PromptTokens(sent), completion.Usage.InputTokenCount);
        Assert.Equal(GroqStandIn.CountTokens(answer), completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);

        using var raw = JsonDocument.Parse(result.GetRawResponse().Content);
        var shepherd = raw.RootElement.GetProperty("shepherd");
        AssertPaidLlmAnswer(shepherd, sent, answer);
        Assert.Equal(completion.Id, "chatcmpl-" + shepherd.GetProperty("request_id").GetString());
    }

    [SkippableFact]
    public async Task AStreamDeliversTheTextThenStopThenUsage()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var query = UniqueQuery(Question);

        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in Chat(Team.Secret, "shepherd-llm").CompleteChatStreamingAsync([new UserChatMessage(query)], new ChatCompletionOptions()))
        {
            updates.Add(update);
        }

        var sent = stack.LlmRequestContaining(query);
        var answer = stack.Replicas[0].Groq.Answer("");
        Assert.Equal(answer, string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        Assert.Equal(ChatMessageRole.Assistant, updates[0].Role);
        Assert.Single(updates, u => u.FinishReason is not null);
        Assert.Equal(ChatFinishReason.Stop, updates.Single(u => u.FinishReason is not null).FinishReason);
        Assert.All(updates, u => Assert.Equal("shepherd-llm", u.Model));
        Assert.Single(updates.Select(u => u.CompletionId).Distinct());
        var usage = updates.Last(u => u.Usage is not null).Usage;
        Assert.Equal(PromptTokens(sent), usage.InputTokenCount);
        Assert.Equal(GroqStandIn.CountTokens(answer), usage.OutputTokenCount);
    }

    [SkippableFact]
    public async Task AnEmptyQueryIsA400NamingMessages()
    {
        Skip.IfNot(HasModel, MissingModelReason);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(Team.Secret, "shepherd-reactive").CompleteChatAsync([new UserChatMessage(" ")]));

        Assert.Equal(400, error.Status);
        var body = ErrorBody(error);
        Assert.Equal("invalid_request_error", body.GetProperty("type").GetString());
        Assert.Equal("messages", body.GetProperty("param").GetString());
        Assert.Contains("empty", body.GetProperty("message").GetString());
    }

    [SkippableFact]
    public async Task AnUnknownModelIsA404ModelNotFound()
    {
        Skip.IfNot(HasModel, MissingModelReason);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(Team.Secret, "gpt-4o").CompleteChatAsync([new UserChatMessage("Hi")]));

        Assert.Equal(404, error.Status);
        var body = ErrorBody(error);
        Assert.Equal("model_not_found", body.GetProperty("code").GetString());
        Assert.Equal("model", body.GetProperty("param").GetString());
    }

    [SkippableFact]
    public async Task AMissingKeyIsA401AndNoAnswerIsComputed()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var before = stack.Replicas.Sum(r => r.Groq.RequestCount);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(Team.Secret, "shepherd-llm", withoutKey: true).CompleteChatAsync([new UserChatMessage(UniqueQuery(Question))]));

        Assert.Equal(401, error.Status);
        var body = ErrorBody(error);
        Assert.Equal("invalid_request_error", body.GetProperty("type").GetString());
        Assert.Equal("invalid_api_key", body.GetProperty("code").GetString());
        Assert.Equal(before, stack.Replicas.Sum(r => r.Groq.RequestCount));
    }

    [SkippableFact]
    public async Task AKeyOverItsRateGets429WithRetryAfter()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        // The key's limit covers every route; the model list answers in a millisecond, so the calls' spread is the
        // time they took (an answer would add its generation to it and loosen the bound below).
        var models = new OpenAIModelClient(new ApiKeyCredential(Tight.Secret), Options());

        // Tight's bucket holds one request and gains one on each tick of a one-second timer: of five calls sent
        // together within a second at most two pass (the full bucket, and a tick that may fall among them).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var calls = Enumerable.Range(0, 5).Select(async _ =>
        {
            try
            {
                await models.GetModelsAsync();
                return null;
            }
            catch (ClientResultException e)
            {
                return e;
            }
        }).ToArray();
        var refused = (await Task.WhenAll(calls)).OfType<ClientResultException>().ToArray();

        Tight.AssertRefusedAtLeast(refused.Length, calls.Length, clock.Elapsed);
        foreach (var error in refused)
        {
            Assert.Equal(429, error.Status);
            var body = ErrorBody(error);
            Assert.Equal("rate_limit_exceeded", body.GetProperty("code").GetString());
            Assert.Contains("tight", body.GetProperty("message").GetString());
            Assert.True(error.GetRawResponse()!.Headers.TryGetValue("retry-after", out var retryAfter), "no retry-after header");
            Assert.True(int.Parse(retryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        }
    }

    /// <summary>The "shepherd" object of a paid LLM answer from the Groq stand-in.</summary>
    internal static void AssertPaidLlmAnswer(JsonElement shepherd, System.Text.Json.Nodes.JsonObject sent, string answer)
    {
        var input = PromptTokens(sent) * InputUsdPerToken;
        var output = GroqStandIn.CountTokens(answer) * OutputUsdPerToken;
        Assert.Equal(["llm.answer"], shepherd.GetProperty("path").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("llm", shepherd.GetProperty("answered_by").GetString());
        Assert.Equal("llm", shepherd.GetProperty("strategy").GetString());
        Assert.False(string.IsNullOrEmpty(shepherd.GetProperty("final_answer").GetString()));
        var cost = shepherd.GetProperty("cost");
        Assert.Equal(input, cost.GetProperty("llm_input_usd").GetDouble(), tolerance: 1e-12);
        Assert.Equal(output, cost.GetProperty("llm_output_usd").GetDouble(), tolerance: 1e-12);
        Assert.Equal(0, cost.GetProperty("slm_usd").GetDouble());
        Assert.Equal(input + output, cost.GetProperty("total_usd").GetDouble(), tolerance: 1e-12);
        Assert.Equal(JsonValueKind.Null, shepherd.GetProperty("hint").ValueKind);
        Assert.False(shepherd.GetProperty("degraded").GetBoolean());
        Assert.Empty(shepherd.GetProperty("degradations").EnumerateArray());
        // The Groq stand-in is a real HTTP endpoint to the orchestrator, not the local llama.cpp stand-in LLM.
        Assert.False(shepherd.GetProperty("llm_stand_in").GetBoolean());
    }

    private static JsonElement ErrorBody(ClientResultException error) =>
        JsonDocument.Parse(error.GetRawResponse()!.Content).RootElement.GetProperty("error").Clone();

    private ChatClient Chat(string key, string model, bool withoutKey = false) => new(model, new ApiKeyCredential(key), Options(withoutKey));

    private OpenAIClientOptions Options(bool withoutKey = false)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(stack.EdgeHttp1Address, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        };
        if (withoutKey)
        {
            options.AddPolicy(new WithoutAuthorization(), PipelinePosition.BeforeTransport);
        }

        return options;
    }

    /// <summary>The SDK always sends a key; a client without one does not.</summary>
    private sealed class WithoutAuthorization : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}
