using Microsoft.Extensions.Logging;

namespace Shepherd.Llm;

internal static partial class LlmLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "LLM {Model} attempt {Attempt} failed: {Reason}")]
    public static partial void LlmAttemptFailed(ILogger logger, string model, int attempt, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Hint cache could not store an answer of {Model} (SQLite error {Code}: {Reason}); the call is booked all the same")]
    public static partial void HintCacheStoreFailed(ILogger logger, string model, int code, string reason);
}
