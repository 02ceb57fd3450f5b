using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shepherd.Orchestrator.OpenAi;

/// <summary>
/// The body of POST /v1/chat/completions as Shepherd reads it. Fields Shepherd does not use (temperature, top_p,
/// max_tokens, …) are accepted and ignored: Shepherd's models run at the settings of the paper and the strategy.
/// </summary>
public sealed class ChatCompletionRequest
{
    public string? Model { get; set; }

    public List<ChatMessageDto>? Messages { get; set; }

    public bool Stream { get; set; }

    public StreamOptionsDto? StreamOptions { get; set; }

    /// <summary>Choices per request: Shepherd answers once, so only 1 (or unset).</summary>
    public int? N { get; set; }

    /// <summary>Shepherd's own parameters (README, "Use it from an OpenAI SDK").</summary>
    public ShepherdParameters? Shepherd { get; set; }
}

public sealed class ChatMessageDto
{
    public string? Role { get; set; }

    /// <summary>A string, or an array of content parts of which the "text" ones are read.</summary>
    public JsonElement Content { get; set; }
}

public sealed class StreamOptionsDto
{
    public bool IncludeUsage { get; set; }
}

/// <summary>The "shepherd" extension object of a request: the task and AnswerRequest's overrides.</summary>
public sealed class ShepherdParameters
{
    /// <summary>gsm8k, cnk12, humaneval, mbpp or generic (default; also from the x-shepherd-task header).</summary>
    public string? Task { get; set; }

    public double? Alpha { get; set; }

    public int? EtaHint { get; set; }

    /// <summary>K.</summary>
    public int? Samples { get; set; }

    /// <summary>k.</summary>
    public int? Agree { get; set; }

    public int? MaxHintTokens { get; set; }

    public double? BudgetUsd { get; set; }

    public string? RequestId { get; set; }

    public string? TaskContext { get; set; }
}

/// <summary>How request bodies are read: snake_case names, numbers as JSON numbers, unknown fields ignored.</summary>
internal static class OpenAiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Responses leave out nulls except where OpenAI's shape has them (those are written explicitly).</summary>
    public static readonly JsonSerializerOptions Response = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
