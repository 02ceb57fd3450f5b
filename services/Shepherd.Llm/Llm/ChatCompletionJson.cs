using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shepherd.Llm;

/// <summary>The OpenAI-compatible chat completion wire format, shared by live calls and batch lines.</summary>
public static class ChatCompletionJson
{
    /// <summary>The request body: temperature 0, top_p 1, the token limit under <paramref name="tokenLimitParameter"/>.</summary>
    public static JsonObject Body(string model, string tokenLimitParameter, LlmRequest request)
    {
        var messages = new JsonArray();
        foreach (var m in request.Messages)
        {
            messages.Add(new JsonObject { ["role"] = m.Role, ["content"] = m.Content });
        }

        return new JsonObject
        {
            ["model"] = model,
            ["messages"] = messages,
            ["temperature"] = 0,
            ["top_p"] = 1,
            [tokenLimitParameter] = request.MaxTokens,
        };
    }

    /// <summary>A chat completion response; throws KeyNotFoundException / InvalidOperationException when it is not one.</summary>
    public static LlmCompletion Parse(JsonElement root, string fallbackModel, int attempts)
    {
        var choice = root.GetProperty("choices")[0];
        var text = choice.GetProperty("message").GetProperty("content").GetString() ?? "";
        var finish = choice.TryGetProperty("finish_reason", out var f) ? f.GetString() : null;
        var usage = root.GetProperty("usage");
        var model = root.TryGetProperty("model", out var m) && m.GetString() is { Length: > 0 } name ? name : fallbackModel;
        return new LlmCompletion(
            text,
            model,
            usage.GetProperty("prompt_tokens").GetInt64(),
            usage.GetProperty("completion_tokens").GetInt64(),
            Complete: finish == "stop",
            StandIn: false,
            Cached: false,
            attempts);
    }
}
