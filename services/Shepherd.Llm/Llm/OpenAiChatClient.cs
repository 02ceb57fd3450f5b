using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Shepherd.Llm;

/// <summary>
/// OpenAI-compatible chat completions (Groq by default). Temperature 0; the hint size goes in
/// max_completion_tokens, or max_tokens where the endpoint asks for it (configured, or learned from a 400 that
/// names the parameter). Groq has neither logprobs nor n &gt; 1, so neither is ever sent.
/// The HttpClient comes from <see cref="IHttpClientFactory"/> per call (its handlers are pooled and renewed, so DNS
/// changes are seen); retries are its resilience pipeline's (<see cref="LlmResilience"/>), attempts are counted and
/// logged by <see cref="LlmAttemptHandler"/>. What is left when they give up fails here: a 429, a 5xx, a timeout or a
/// failed connection, and a 498 (capacity, never retried) as <see cref="LlmUnavailableException"/>; any other 4xx as
/// <see cref="LlmRefusedException"/>. The key is only ever put in the Authorization header: never in a log line, a
/// trace tag or an exception message, and an error body (upstream text) never goes into an exception.
/// </summary>
public sealed class OpenAiChatClient : ILlmClient
{
    public const string HttpClientName = "shepherd-llm";

    private readonly IHttpClientFactory _http;
    private readonly LlmOptions _options;
    private readonly string _apiKey;
    private readonly TimeProvider _time;
    private string _tokenLimitParameter;

    public OpenAiChatClient(IHttpClientFactory http, IOptions<LlmOptions> options, LlmApiKey apiKey, TimeProvider time)
    {
        _http = http;
        _options = options.Value;
        _apiKey = apiKey.Value ?? throw new InvalidOperationException("OpenAiChatClient needs an API key");
        _time = time;
        _tokenLimitParameter = _options.TokenLimitParameter;
    }

    public string Model => _options.Model;

    public bool IsStandIn => false;

    public string Source => LlmSources.Endpoint(_options.BaseUrl);

    public string Endpoint => LlmSources.Normalize(_options.BaseUrl);

    /// <summary>The named client's base address and timeout (the pipeline times each attempt).</summary>
    public static void ConfigureHttpClient(HttpClient client, LlmOptions options)
    {
        client.BaseAddress = new Uri(options.BaseUrl.TrimEnd('/') + "/");
        client.Timeout = Timeout.InfiniteTimeSpan;
    }

    public async Task<LlmCompletion> CompleteAsync(LlmRequest request, CancellationToken cancellationToken)
    {
        var http = _http.CreateClient(HttpClientName);
        var attempts = new LlmAttempts(cancellationToken);
        var switchedParameter = false;
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                using var message = BuildRequest(request);
                message.Options.Set(LlmAttempts.Key, attempts);
                response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or TimeoutRejectedException or OperationCanceledException)
            {
                var reason = ex is HttpRequestException ? "connection failed" : $"timed out after {_options.TimeoutSeconds}s";
                throw new LlmUnavailableException($"LLM {reason}; {attempts.Count} attempts made", ex);
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode)
                {
                    return await ParseAsync(response, attempts.Count, cancellationToken);
                }

                switch (status)
                {
                    case 429:
                        var wait = LlmResilience.RetryAfter(response.Headers, _time) ?? TimeSpan.Zero;
                        throw new LlmUnavailableException($"LLM rate limit (429): retry-after {wait.TotalSeconds:F1}s, {attempts.Count} attempts made");
                    case 498:
                        throw new LlmUnavailableException("LLM over capacity (498); failing fast");
                    case >= 500:
                        throw new LlmUnavailableException($"LLM server error {status} after {attempts.Count} attempts");
                    case 400 when !switchedParameter
                        && (await LlmErrorBody.ReadAsync(response, cancellationToken)).Contains(_tokenLimitParameter, StringComparison.OrdinalIgnoreCase):
                        // The endpoint does not know this token-limit name: try the other one once, and keep it.
                        _tokenLimitParameter = _tokenLimitParameter == "max_tokens" ? "max_completion_tokens" : "max_tokens";
                        switchedParameter = true;
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
