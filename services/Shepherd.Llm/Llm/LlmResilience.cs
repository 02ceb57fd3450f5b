using System.Globalization;
using System.Net.Http.Headers;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Shepherd.Llm;

/// <summary>
/// The LLM client's retries on the resilience stack (Microsoft.Extensions.Http.Resilience / Polly), configured from
/// the visible Llm keys: a 429 waits for its retry-after (Groq's fractional seconds too) when that is at most
/// Llm:MaxRetryAfterSeconds, a 5xx, a failed connection or an attempt over Llm:TimeoutSeconds backs off
/// exponentially with full jitter from Llm:RetryBaseDelayMs, all up to Llm:MaxRetries retries. A 498 (capacity), any
/// other 4xx and the caller's cancellation are never retried; a budget too small is refused before any call.
/// </summary>
public static class LlmResilience
{
    public const string PipelineName = "llm";

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, LlmOptions options, TimeProvider time)
    {
        pipeline
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, options, time)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Delay(args.Outcome, args.AttemptNumber, options, time)),
            })
            .AddTimeout(TimeSpan.FromSeconds(options.TimeoutSeconds));
    }

    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, LlmOptions options, TimeProvider time) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { StatusCode: (System.Net.HttpStatusCode)429 } response } => RetryAfter(response.Headers, time) is var wait
            && (wait ?? TimeSpan.Zero) <= TimeSpan.FromSeconds(options.MaxRetryAfterSeconds),
        { Result: { } response } => (int)response.StatusCode >= 500,
        _ => false,
    };

    /// <param name="retry">0 for the first retry.</param>
    public static TimeSpan Delay(Outcome<HttpResponseMessage> outcome, int retry, LlmOptions options, TimeProvider time)
    {
        if (outcome.Result is { StatusCode: (System.Net.HttpStatusCode)429 } limited)
        {
            return RetryAfter(limited.Headers, time) ?? TimeSpan.FromMilliseconds(options.RetryBaseDelayMs);
        }

        // Full jitter: uniform in [0, base · 2^retry).
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * options.RetryBaseDelayMs * Math.Pow(2, retry));
    }

    /// <summary>The wait a 429 asks for: retry-after as seconds (fractional, as Groq sends) or an HTTP date; null when absent.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers, TimeProvider time)
    {
        if (headers.RetryAfter is { } retry)
        {
            if (retry.Delta is { } delta)
            {
                return delta;
            }

            if (retry.Date is { } date)
            {
                var wait = date - time.GetUtcNow();
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        // RetryConditionHeaderValue cannot parse fractional seconds.
        return headers.TryGetValues("retry-after", out var values)
            && double.TryParse(values.First(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }
}
