using Microsoft.Extensions.Logging;

namespace Shepherd.Llm;

internal static partial class LlmLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "LLM {Model} attempt {Attempt} failed: {Reason}")]
    public static partial void LlmAttemptFailed(ILogger logger, string model, int attempt, string reason);
}
