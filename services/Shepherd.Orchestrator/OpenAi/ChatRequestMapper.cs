using System.Text.Json;
using Shepherd.Contracts.V1;
using Shepherd.Core.Errors;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Orchestrator.Grpc;

namespace Shepherd.Orchestrator.OpenAi;

/// <summary>
/// An OpenAI chat request to an AnswerRequest. The model id names the strategy (shepherd-&lt;strategy&gt;), the last
/// user message is the query, and the "shepherd" object carries the task and the overrides. Errors name the OpenAI
/// parameter (<c>model</c>, <c>messages</c>, <c>shepherd.alpha</c>, …).
/// </summary>
public static class ChatRequestMapper
{
    public const string ModelPrefix = "shepherd-";

    public const string TaskHeader = "x-shepherd-task";

    /// <summary>One model id per strategy, from the one table of strategy names.</summary>
    public static IEnumerable<string> ModelIds => StrategyNames.Wire.Select(w => ModelPrefix + w);

    public static AnswerRequest ToAnswerRequest(ChatCompletionRequest chat, string? taskHeader)
    {
        var model = chat.Model ?? throw new InvalidRequestException("model", "is required: one of " + string.Join(", ", ModelIds));
        if (!model.StartsWith(ModelPrefix, StringComparison.Ordinal) || !StrategyNames.TryParse(model[ModelPrefix.Length..], out var strategy))
        {
            throw new ModelNotFoundException(model);
        }

        if (chat.N is { } n && n != 1)
        {
            throw new InvalidRequestException("n", $"must be 1 (Shepherd gives one answer); got {n}");
        }

        var extension = chat.Shepherd ?? new ShepherdParameters();
        var request = new AnswerRequest
        {
            Query = Query(chat.Messages),
            Strategy = ProtoNames.ToProto(strategy),
            Task = Task(extension.Task ?? taskHeader),
            RequestId = extension.RequestId ?? "",
            TaskContext = extension.TaskContext ?? "",
        };
        if (extension.Alpha is { } alpha)
        {
            request.Alpha = alpha;
        }

        if (extension.EtaHint is { } eta)
        {
            request.EtaHint = eta;
        }

        if (extension.Samples is { } samples)
        {
            request.Samples = samples;
        }

        if (extension.Agree is { } agree)
        {
            request.Agree = agree;
        }

        if (extension.MaxHintTokens is { } maxHint)
        {
            request.MaxHintTokens = maxHint;
        }

        if (extension.BudgetUsd is { } budget)
        {
            request.BudgetUsd = budget;
        }

        return request;
    }

    /// <summary>The OpenAI parameter for a field the pipeline names (AnswerRequest's field names).</summary>
    public static string Parameter(string field) => field switch
    {
        "query" => "messages",
        "strategy" => "model",
        "alpha" or "eta_hint" or "samples" or "agree" or "max_hint_tokens" or "budget_usd" or "task" or "request_id" or "task_context" => "shepherd." + field,
        _ => field,
    };

    private static string Query(List<ChatMessageDto>? messages)
    {
        if (messages is not { Count: > 0 })
        {
            throw new InvalidRequestException("messages", "must hold at least one message with role \"user\"");
        }

        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role is not ("system" or "developer" or "user" or "assistant"))
            {
                throw new InvalidRequestException($"messages[{i}].role", $"must be system, developer, user or assistant; got '{messages[i].Role}'");
            }
        }

        var last = messages.FindLastIndex(m => m.Role == "user");
        if (last < 0)
        {
            throw new InvalidRequestException("messages", "must hold at least one message with role \"user\"");
        }

        return Text(messages[last].Content, $"messages[{last}].content");
    }

    private static string Text(JsonElement content, string parameter)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Array:
                var parts = new List<string>();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.GetString() != "text"
                        || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                    {
                        throw new InvalidRequestException(parameter, "only text content parts ({\"type\": \"text\", \"text\": …}) are supported");
                    }

                    parts.Add(text.GetString()!);
                }

                return string.Join("\n", parts);
            default:
                throw new InvalidRequestException(parameter, "must be a string or an array of text parts");
        }
    }

    private static TaskKind Task(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return TaskKind.Generic;
        }

        foreach (var kind in Enum.GetValues<TaskKind>())
        {
            if (kind != TaskKind.Unspecified && string.Equals(ProtoNames.ToTaskName(kind), name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return kind;
            }
        }

        var known = Enum.GetValues<TaskKind>().Where(k => k != TaskKind.Unspecified).Select(ProtoNames.ToTaskName);
        throw new InvalidRequestException("task", $"unknown task '{name}'; use one of {string.Join(", ", known)} (shepherd.task or the {TaskHeader} header)");
    }
}

/// <summary>A model id that names no strategy: OpenAI's 404 model_not_found.</summary>
public sealed class ModelNotFoundException(string model)
    : Exception($"The model '{model}' does not exist; use one of {string.Join(", ", ChatRequestMapper.ModelIds)} (GET /v1/models)");
