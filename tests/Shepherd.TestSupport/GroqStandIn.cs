using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Shepherd.TestSupport;

/// <summary>
/// One scripted reply of the stand-in: an HTTP status with Groq's error body. With <paramref name="EchoAuthorization"/>
/// the body's message repeats the request's Authorization header, as some OpenAI-compatible endpoints do in a 401;
/// with <paramref name="PlainText"/> the body is that message alone, not JSON.
/// </summary>
public sealed record GroqReply(
    int Status,
    string? RetryAfter = null,
    string ErrorType = "server_error",
    string ErrorCode = "internal_server_error",
    bool EchoAuthorization = false,
    bool PlainText = false);

/// <summary>
/// A stand-in for Groq's OpenAI-compatible API on a real Kestrel port of 127.0.0.1 (no network reaches Groq here).
/// It speaks Groq's wire format: POST {base}/chat/completions with a Bearer key; chat.completion bodies with
/// usage and x_groq; x-ratelimit-* headers on every reply; 429 with retry-after; 498 capacity; 5xx; and
/// {"error":{"message","type","code"}} bodies. Like Groq it refuses n &gt; 1 and logprobs. Its tokenizer is
/// whitespace words, so max_completion_tokens = n returns the answer's first n words (finish_reason "length").
/// Tests script replies with <see cref="Enqueue"/> and read what was asked in <see cref="Requests"/>.
/// </summary>
public sealed partial class GroqStandIn : IAsyncDisposable
{
    public const string ValidKey = "gsk_test_0123456789abcdef";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<GroqReply> _script = new();
    private readonly ConcurrentQueue<JsonObject> _requests = new();
    private readonly ConcurrentQueue<string> _traceparents = new();

    private readonly string _contentRoot;

    private GroqStandIn(WebApplication app, string contentRoot)
    {
        _app = app;
        _contentRoot = contentRoot;
    }

    /// <summary>The answer the model gives to a chat (last user message in, text out). Default: a fixed sentence.</summary>
    public Func<string, string> Answer { get; set; } = _ => "Let us think step by step. 3 + 4 = 7 and 7 * 2 = 14. The answer is 14.";

    public string BaseUrl { get; private set; } = "";

    public IReadOnlyList<JsonObject> Requests => _requests.ToArray();

    public int RequestCount => _requests.Count;

    /// <summary>The W3C traceparent header of every request that carried one, in arrival order.</summary>
    public IReadOnlyList<string> Traceparents => _traceparents.ToArray();

    public static async Task<GroqStandIn> StartAsync()
    {
        // An empty content root: a test's output folder holds some service's appsettings.json (whichever web project
        // was copied last), whose Kestrel or URL settings must not reach this HTTP/1.1 server.
        var root = Directory.CreateTempSubdirectory("groq-standin-").FullName;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = root });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2));
        var app = builder.Build();
        var standIn = new GroqStandIn(app, root);
        app.MapPost("/openai/v1/chat/completions", standIn.HandleAsync);
        standIn.MapBatches(app, "/openai/v1");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        standIn.BaseUrl = address.TrimEnd('/') + "/openai/v1";
        return standIn;
    }

    public void Enqueue(params GroqReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    public static int CountTokens(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_contentRoot, recursive: true);
    }

    private async Task HandleAsync(HttpContext http)
    {
        var response = http.Response;
        if (http.Request.Headers.TryGetValue("traceparent", out var traceparent) && traceparent.Count == 1)
        {
            _traceparents.Enqueue(traceparent[0]!);
        }

        response.Headers["x-ratelimit-limit-requests"] = "14400";
        response.Headers["x-ratelimit-limit-tokens"] = "6000";
        response.Headers["x-ratelimit-remaining-requests"] = (14400 - _requests.Count).ToString(CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-remaining-tokens"] = "5800";
        response.Headers["x-ratelimit-reset-requests"] = "2m59.56s";
        response.Headers["x-ratelimit-reset-tokens"] = "7.66s";

        if (http.Request.Headers.Authorization.ToString() != "Bearer " + ValidKey)
        {
            await ErrorAsync(response, 401, "Invalid API Key", "invalid_request_error", "invalid_api_key");
            return;
        }

        JsonObject body;
        try
        {
            body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
        }
        catch (JsonException)
        {
            await ErrorAsync(response, 400, "request body is not valid JSON", "invalid_request_error", "invalid_json");
            return;
        }

        _requests.Enqueue(body);
        if (body["n"] is { } n && n.GetValue<int>() != 1)
        {
            await ErrorAsync(response, 400, "'n' : number must be at most 1", "invalid_request_error", "invalid_request");
            return;
        }

        if (body.ContainsKey("logprobs") || body.ContainsKey("top_logprobs"))
        {
            await ErrorAsync(response, 400, "logprobs is not supported with this model", "invalid_request_error", "invalid_request");
            return;
        }

        if (_script.TryDequeue(out var scripted))
        {
            if (scripted.RetryAfter is { } retryAfter)
            {
                response.Headers["retry-after"] = retryAfter;
            }

            var message = scripted.Status switch
            {
                429 => "Rate limit reached for model `llama-3.3-70b-versatile` on tokens per minute (TPM). Please try again.",
                498 => "The model is currently over capacity. Please try again later.",
                401 => "Invalid API Key",
                400 => "Bad request",
                _ => "Internal Server Error",
            };
            if (scripted.EchoAuthorization)
            {
                message += ": " + http.Request.Headers.Authorization.ToString() + " (key " + http.Request.Headers.Authorization.ToString()["Bearer ".Length..] + ")";
            }

            if (scripted.PlainText)
            {
                response.StatusCode = scripted.Status;
                response.ContentType = "text/plain";
                await response.WriteAsync(message);
                return;
            }

            await ErrorAsync(response, scripted.Status, message, scripted.Status == 429 ? "tokens" : scripted.ErrorType, scripted.Status == 429 ? "rate_limit_exceeded" : scripted.ErrorCode);
            return;
        }

        response.ContentType = "application/json";
        await response.WriteAsync(Complete(body).ToJsonString());
    }

    /// <summary>The chat.completion the model gives for a request body (the same for live calls and batch lines).</summary>
    private JsonObject Complete(JsonObject body)
    {
        var messages = body["messages"]!.AsArray();
        var lastUser = messages.Last(m => m!["role"]!.GetValue<string>() == "user")!["content"]!.GetValue<string>();
        var words = Answer(lastUser).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var limit = body["max_completion_tokens"] ?? body["max_tokens"];
        var max = limit is null ? int.MaxValue : limit.GetValue<int>();
        var taken = words.Take(max).ToArray();
        var promptTokens = messages.Sum(m => CountTokens(m!["content"]!.GetValue<string>()));
        var completion = new JsonObject
        {
            ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = body["model"]!.GetValue<string>(),
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Join(' ', taken) },
                ["logprobs"] = null,
                ["finish_reason"] = taken.Length < words.Length ? "length" : "stop",
            }),
            ["usage"] = new JsonObject
            {
                ["queue_time"] = 0.01,
                ["prompt_tokens"] = promptTokens,
                ["prompt_time"] = 0.002,
                ["completion_tokens"] = taken.Length,
                ["completion_time"] = 0.05,
                ["total_tokens"] = promptTokens + taken.Length,
                ["total_time"] = 0.052,
            },
            ["system_fingerprint"] = "fp_standin",
            ["x_groq"] = new JsonObject { ["id"] = "req_" + Guid.NewGuid().ToString("N") },
        };
        return completion;
    }

    private static bool Authorized(HttpContext http) => http.Request.Headers.Authorization.ToString() == "Bearer " + ValidKey;

    private static async Task ErrorAsync(HttpResponse response, int status, string message, string type, string code)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await response.WriteAsync(new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["code"] = code } }.ToJsonString());
    }
}
