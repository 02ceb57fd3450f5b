using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shepherd.Llm;

/// <summary>A batch as the endpoint reports it (OpenAI-compatible <c>/batches/{id}</c>).</summary>
public sealed record LlmBatchStatus(string Id, string Status, int Total, int Completed, int Failed, string? OutputFileId, string? ErrorFileId)
{
    /// <summary>No further change will come: completed, failed, expired or cancelled.</summary>
    public bool IsFinal => Status is "completed" or "failed" or "expired" or "cancelled";
}

/// <summary>One line of a batch's input: its custom id and the chat request.</summary>
public sealed record LlmBatchRequest(string CustomId, LlmRequest Request);

/// <summary>One line of a batch's output or error file: the completion, or why there is none.</summary>
public sealed record LlmBatchResult(string CustomId, LlmCompletion? Completion, string? Error);

/// <summary>
/// The OpenAI-compatible Batch API (Groq's among them): upload a JSONL of chat requests (<c>/files</c>, purpose
/// batch), create a batch (<c>/batches</c>), poll it, download its output and error files. The key is sent as a
/// bearer token and never logged; an endpoint's error body stays out of every message.
/// </summary>
public sealed class OpenAiBatchClient
{
    private readonly HttpClient _http;
    private readonly LlmOptions _options;
    private readonly string _apiKey;

    public OpenAiBatchClient(HttpClient http, LlmOptions options, string apiKey)
    {
        _http = http;
        _options = options;
        _apiKey = apiKey;
        _http.BaseAddress = new Uri(options.BaseUrl.TrimEnd('/') + "/");
    }

    /// <summary>The JSONL the endpoint takes: one <c>{custom_id, method, url, body}</c> per request.</summary>
    public string InputJsonl(IEnumerable<LlmBatchRequest> requests)
    {
        var text = new StringBuilder();
        foreach (var r in requests)
        {
            var line = new JsonObject
            {
                ["custom_id"] = r.CustomId,
                ["method"] = "POST",
                ["url"] = "/v1/chat/completions",
                ["body"] = ChatCompletionJson.Body(_options.Model, _options.TokenLimitParameter, r.Request),
            };
            text.Append(line.ToJsonString()).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Uploads the requests and creates the batch; returns its status (the id to store for a resume).</summary>
    public async Task<LlmBatchStatus> SubmitAsync(IReadOnlyList<LlmBatchRequest> requests, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(InputJsonl(requests))), "file", "requests.jsonl" },
        };
        using var upload = await SendAsync(HttpMethod.Post, "files", form, cancellationToken);
        var fileId = upload.RootElement.GetProperty("id").GetString() ?? throw new LlmUnavailableException("the files endpoint returned no file id");
        var create = new JsonObject { ["input_file_id"] = fileId, ["endpoint"] = "/v1/chat/completions", ["completion_window"] = "24h" };
        using var created = await SendAsync(HttpMethod.Post, "batches", new StringContent(create.ToJsonString(), Encoding.UTF8, "application/json"), cancellationToken);
        return Status(created.RootElement);
    }

    public async Task<LlmBatchStatus> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        using var json = await SendAsync(HttpMethod.Get, "batches/" + Uri.EscapeDataString(batchId), null, cancellationToken);
        return Status(json.RootElement);
    }

    /// <summary>The results of a finished batch: its output file's completions and its error file's failures.</summary>
    public async Task<IReadOnlyList<LlmBatchResult>> ResultsAsync(LlmBatchStatus batch, CancellationToken cancellationToken)
    {
        var results = new List<LlmBatchResult>();
        foreach (var fileId in new[] { batch.OutputFileId, batch.ErrorFileId }.OfType<string>())
        {
            using var request = Request(HttpMethod.Get, $"files/{Uri.EscapeDataString(fileId)}/content", null);
            using var response = await _http.SendAsync(request, cancellationToken);
            Check(response, "download of a batch file");
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                results.Add(ParseLine(line));
            }
        }

        return results;
    }

    private LlmBatchResult ParseLine(string line)
    {
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        var id = root.GetProperty("custom_id").GetString() ?? "";
        if (root.TryGetProperty("response", out var response) && response.ValueKind == JsonValueKind.Object
            && response.GetProperty("status_code").GetInt32() == 200)
        {
            return new LlmBatchResult(id, ChatCompletionJson.Parse(response.GetProperty("body"), _options.Model, attempts: 1), null);
        }

        var status = response.ValueKind == JsonValueKind.Object && response.TryGetProperty("status_code", out var code) ? $"HTTP {code.GetInt32()}" : "no response";
        var kind = root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) ? c.GetString() : null;
        return new LlmBatchResult(id, null, kind is null ? status : $"{status} ({kind})");
    }

    private static LlmBatchStatus Status(JsonElement root)
    {
        var counts = root.TryGetProperty("request_counts", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        int Count(string name) => counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty(name, out var v) ? v.GetInt32() : 0;
        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return new LlmBatchStatus(Text("id") ?? "", Text("status") ?? "", Count("total"), Count("completed"), Count("failed"), Text("output_file_id"), Text("error_file_id"));
    }

    private async Task<JsonDocument> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = Request(method, path, content);
        using var response = await _http.SendAsync(request, cancellationToken);
        Check(response, $"{method} {path.Split('/')[0]}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
    }

    private HttpRequestMessage Request(HttpMethod method, string path, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        return request;
    }

    private static void Check(HttpResponseMessage response, string what)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }

        // The body stays out: upstream text.
        throw status is >= 500 or 429
            ? new LlmUnavailableException($"Batch API: {what} failed (HTTP {status})")
            : new LlmRefusedException($"Batch API refused the {what} (HTTP {status})");
    }
}
