using System.Text.Json.Nodes;
using Shepherd.Contracts.V1;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Orchestrator.Grpc;

namespace Shepherd.Orchestrator.OpenAi;

/// <summary>
/// An AnswerResponse as OpenAI's chat.completion (and the chunks of a stream). <c>usage</c> counts the tokens of
/// the model whose text is the answer (the LLM when the path ends in llm.answer, else the SLM: all of its calls for
/// this request); the "shepherd" object carries the path, the USD cost breakdown, the hint, degraded and
/// llm_stand_in.
/// </summary>
public static class ChatResponseMapper
{
    public static JsonObject Completion(AnswerResponse answer, string model, long created) => new()
    {
        ["id"] = Id(answer.RequestId),
        ["object"] = "chat.completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = answer.Answer, ["refusal"] = null },
            ["logprobs"] = null,
            ["finish_reason"] = "stop",
        }),
        ["usage"] = Usage(answer),
        ["system_fingerprint"] = null,
        ["shepherd"] = Extension(answer),
    };

    /// <summary>A chunk of a stream: a delta (role and/or content), or the last one with finish_reason and the extension.</summary>
    public static JsonObject Chunk(string requestId, string model, long created, JsonObject? delta, AnswerResponse? final = null, bool usageOnly = false)
    {
        var chunk = new JsonObject
        {
            ["id"] = Id(requestId),
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = model,
            ["system_fingerprint"] = null,
        };
        if (usageOnly && final is not null)
        {
            chunk["choices"] = new JsonArray();
            chunk["usage"] = Usage(final);
            return chunk;
        }

        chunk["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["delta"] = delta ?? new JsonObject(),
            ["logprobs"] = null,
            ["finish_reason"] = final is null ? null : "stop",
        });
        if (final is not null)
        {
            chunk["shepherd"] = Extension(final);
        }

        return chunk;
    }

    /// <summary>"llm" when the LLM's full answer is the text, else "slm".</summary>
    public static string AnsweredBy(AnswerResponse answer) => answer.Path.LastOrDefault() == "llm.answer" ? "llm" : "slm";

    private static string Id(string requestId) => "chatcmpl-" + requestId;

    private static JsonObject Usage(AnswerResponse answer)
    {
        var role = AnsweredBy(answer);
        var used = answer.Usage.Where(u => u.Role == role).ToArray();
        var prompt = used.Sum(u => u.PromptTokens);
        var completion = used.Sum(u => u.CompletionTokens);
        return new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
    }

    private static JsonObject Extension(AnswerResponse answer) => new()
    {
        ["request_id"] = answer.RequestId,
        ["strategy"] = ProtoNames.ToKind(answer.Strategy)?.ToWire(),
        ["answered_by"] = AnsweredBy(answer),
        ["final_answer"] = answer.FinalAnswer,
        ["path"] = new JsonArray(answer.Path.Select(p => (JsonNode?)p).ToArray()),
        ["cost"] = new JsonObject
        {
            ["llm_input_usd"] = answer.Cost?.LlmInputUsd ?? 0,
            ["llm_output_usd"] = answer.Cost?.LlmOutputUsd ?? 0,
            ["slm_usd"] = answer.Cost?.SlmUsd ?? 0,
            ["total_usd"] = answer.Cost?.TotalUsd ?? 0,
            ["cache_savings_usd"] = answer.Cost?.CacheSavingsUsd ?? 0,
        },
        ["hint"] = answer.Hint is { } h ? new JsonObject { ["tokens"] = h.Tokens, ["text"] = h.Text, ["cached"] = h.Cached } : null,
        ["usage"] = new JsonArray(answer.Usage.Select(u => (JsonNode?)new JsonObject
        {
            ["model"] = u.Model,
            ["role"] = u.Role,
            ["prompt_tokens"] = u.PromptTokens,
            ["completion_tokens"] = u.CompletionTokens,
            ["calls"] = u.Calls,
        }).ToArray()),
        ["degraded"] = answer.Degraded,
        ["degradations"] = new JsonArray(answer.Degradations.Select(d => (JsonNode?)d).ToArray()),
        ["llm_stand_in"] = answer.LlmStandIn,
    };
}
