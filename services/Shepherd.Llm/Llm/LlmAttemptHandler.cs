using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Shepherd.Llm;

/// <summary>What one LLM call's attempts share: how many were made, and the caller's cancellation (not a timeout).</summary>
public sealed class LlmAttempts(CancellationToken caller)
{
    public static readonly HttpRequestOptionsKey<LlmAttempts> Key = new("Shepherd.Llm.Attempts");

    public CancellationToken Caller { get; } = caller;

    public int Count { get; set; }
}

/// <summary>
/// Inside the retry pipeline, so it sees every attempt: counts it, exports its x-ratelimit-* headers, and logs a
/// failed one with its status and a short, redacted reason (upstream error bodies may echo the key).
/// </summary>
public sealed class LlmAttemptHandler(IOptions<LlmOptions> options, LlmApiKey key, LlmMetrics metrics, ILogger<LlmAttemptHandler> logger) : DelegatingHandler
{
    private readonly SecretRedactor _redactor = new(key.Value);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var attempts = request.Options.TryGetValue(LlmAttempts.Key, out var shared) ? shared : new LlmAttempts(CancellationToken.None);
        var attempt = ++attempts.Count;
        var model = options.Value.Model;
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            metrics.RecordRateLimits(model, response.Headers);
            if (!response.IsSuccessStatusCode)
            {
                // Buffered, so the client can read the body again (a 400 naming the token-limit parameter).
                var error = await LlmErrorBody.ReadAsync(response, cancellationToken);
                LlmLog.LlmAttemptFailed(logger, model, attempt, $"HTTP {(int)response.StatusCode}: {_redactor.Redact(error)}");
            }

            return response;
        }
        catch (Exception ex) when (!attempts.Caller.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException)
        {
            LlmLog.LlmAttemptFailed(logger, model, attempt, ex is OperationCanceledException ? $"timed out after {options.Value.TimeoutSeconds}s" : "connection failed");
            throw;
        }
    }
}
