using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Shepherd.Llm;

/// <summary>
/// OpenAI-compatible chat completions (Groq by default). Temperature 0; the hint size goes in
/// max_completion_tokens, or max_tokens where the endpoint asks for it (configured, or learned from a 400 that
/// names the parameter). Groq has neither logprobs nor n &gt; 1, so neither is ever sent.
/// Retries are explicit and visible in configuration: a 429 waits for retry-after (up to Llm:MaxRetryAfterSeconds),
/// a 5xx or a timeout backs off exponentially with full jitter, up to Llm:MaxRetries; a 498 (capacity), any other
/// 4xx, or an exhausted budget fails fast with <see cref="LlmUnavailableException"/>. The key is only ever put in
/// the Authorization header: never in a log line, a trace tag or an exception message. An error body is upstream
/// text (some endpoints echo the Authorization header in it): it never goes into an exception, which may reach a
/// client, and reaches the log only as a short reason through <see cref="SecretRedactor"/>.
/// </summary>
public sealed class OpenAiChatClient : ILlmClient
{
    private readonly HttpClient _http;
    private readonly LlmOptions _options;
    private readonly string _apiKey;
    private readonly LlmMetrics _metrics;
    private readonly ILogger<OpenAiChatClient> _logger;
    private readonly TimeProvider _time;
    private readonly SecretRedactor _redactor;
    private string _tokenLimitParameter;

    public OpenAiChatClient(HttpClient http, IOptions<LlmOptions> options, LlmApiKey apiKey, LlmMetrics metrics, ILogger<OpenAiChatClient> logger, TimeProvider time)
    {
        _http = http;
        _options = options.Value;
        _apiKey = apiKey.Value ?? throw new InvalidOperationException("OpenAiChatClient needs an API key");
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _redactor = new SecretRedactor(_apiKey);
        _tokenLimitParameter = _options.TokenLimitParameter;
        _http.BaseAddress = new Uri(_options.BaseUrl.TrimEnd('/') + "/");
        _http.Timeout = Timeout.InfiniteTimeSpan;
    }

    public string Model => _options.Model;

    public bool IsStandIn => false;

    public string Source => LlmSources.Endpoint(_options.BaseUrl);

    public async Task<LlmCompletion> CompleteAsync(LlmRequest request, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var switchedParameter = false;
        while (true)
        {
            attempt++;
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
            HttpResponseMessage response;
            try
            {
                using var message = BuildRequest(request);
                response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, attemptCts.Token);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException)
            {
                var reason = ex is OperationCanceledException ? $"timed out after {_options.TimeoutSeconds}s" : "connection failed";
                LlmLog.LlmAttemptFailed(_logger, Model, attempt, reason);
                if (attempt > _options.MaxRetries)
                {
                    throw new LlmUnavailableException($"LLM {reason}; {attempt} attempts made", ex);
                }

                await Task.Delay(Backoff(attempt), _time, cancellationToken);
                continue;
            }

            using (response)
            {
                _metrics.RecordRateLimits(Model, response.Headers);
                var status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode)
                {
                    return await ParseAsync(response, attempt, cancellationToken);
                }

                var error = await ReadErrorAsync(response, cancellationToken);
                LlmLog.LlmAttemptFailed(_logger, Model, attempt, $"HTTP {status}: {_redactor.Redact(error)}");
                switch (status)
                {
                    case 429:
                        var wait = RetryAfter(response);
                        if (attempt > _options.MaxRetries || wait > TimeSpan.FromSeconds(_options.MaxRetryAfterSeconds))
                        {
                            throw new LlmUnavailableException($"LLM rate limit (429): retry-after {wait.TotalSeconds:F1}s, {attempt} attempts made");
                        }

                        await Task.Delay(wait, _time, cancellationToken);
                        continue;
                    case 498:
                        throw new LlmUnavailableException("LLM over capacity (498); failing fast");
                    case >= 500:
                        if (attempt > _options.MaxRetries)
                        {
                            throw new LlmUnavailableException($"LLM server error {status} after {attempt} attempts");
                        }

                        await Task.Delay(Backoff(attempt), _time, cancellationToken);
                        continue;
                    case 400 when !switchedParameter && error.Contains(_tokenLimitParameter, StringComparison.OrdinalIgnoreCase):
                        // The endpoint does not know this token-limit name: try the other one once, and keep it.
                        _tokenLimitParameter = _tokenLimitParameter == "max_tokens" ? "max_completion_tokens" : "max_tokens";
                        switchedParameter = true;
                        attempt--;
                        continue;
                    default:
                        // The body stays out: it is upstream text, and the exception's message may reach a client.
                        throw new LlmRefusedException($"LLM refused the request (HTTP {status})");
                }
            }
        }
    }

    private HttpRequestMessage BuildRequest(LlmRequest request)
    {
        var body = ChatCompletionJson.Body(_options.Model, _tokenLimitParameter, request);
        var message = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        return message;
    }

    private async Task<LlmCompletion> ParseAsync(HttpResponseMessage response, int attempts, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var json = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
            return ChatCompletionJson.Parse(json.RootElement, _options.Model, attempts);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new LlmUnavailableException("LLM answered 200 with a body that is not a chat completion", ex);
        }
    }

    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message))
            {
                return Trim(message.GetString() ?? "");
            }
        }
        catch (JsonException)
        {
        }

        return Trim(body);

        // Bounded before anything looks at it; redaction then cuts it to a log line (cutting first could leave half
        // a key that no longer looks like one).
        static string Trim(string s) => s.Length <= 4096 ? s : s[..4096];
    }

    private TimeSpan RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { } retry)
        {
            if (retry.Delta is { } delta)
            {
                return delta;
            }

            if (retry.Date is { } date)
            {
                var wait = date - _time.GetUtcNow();
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        // Groq also sends fractional seconds, which RetryConditionHeaderValue cannot parse.
        if (response.Headers.TryGetValues("retry-after", out var values)
            && double.TryParse(values.First(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return TimeSpan.FromMilliseconds(_options.RetryBaseDelayMs);
    }

    private TimeSpan Backoff(int attempt)
    {
        var cap = _options.RetryBaseDelayMs * Math.Pow(2, attempt - 1);
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap);
    }
}

/// <summary>The LLM key, from the configured environment variable or secret file; never from appsettings.</summary>
public sealed class LlmApiKey
{
    public LlmApiKey(IOptions<LlmOptions> options)
    {
        var o = options.Value;
        var fromEnvironment = Environment.GetEnvironmentVariable(o.ApiKeyVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            Value = fromEnvironment.Trim();
            Source = $"environment variable {o.ApiKeyVariable}";
        }
        else if (!string.IsNullOrWhiteSpace(o.ApiKeyFile) && File.Exists(o.ApiKeyFile))
        {
            Value = File.ReadAllText(o.ApiKeyFile).Trim();
            Source = $"file {o.ApiKeyFile}";
        }
    }

    public string? Value { get; }

    /// <summary>Where the key came from, for logs; never the key itself.</summary>
    public string Source { get; } = "none";

    public override string ToString() => Value is null ? "(no key)" : "(key redacted)";
}
