using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Shepherd.TestSupport;

/// <summary>
/// Groq's Batch API, as the stand-in speaks it: POST /files (multipart, purpose "batch", a JSONL of
/// <c>{custom_id, method, url, body}</c>) → a file object; POST /batches <c>{input_file_id, endpoint,
/// completion_window}</c> → a batch object; GET /batches/{id} → its status, which moves validating → in_progress →
/// completed over <see cref="BatchPollsToFinish"/> polls (request_counts as it goes); GET /files/{id}/content → the
/// output JSONL (<c>{id, custom_id, response: {status_code, body}, error}</c>) and the error JSONL of the requests
/// <see cref="BatchFails"/> picks. Each batch line is answered like a chat call.
/// </summary>
public sealed partial class GroqStandIn
{
    private readonly ConcurrentDictionary<string, string> _files = new();
    private readonly ConcurrentDictionary<string, Batch> _batches = new();
    private readonly ConcurrentQueue<string> _batchLines = new();

    /// <summary>Which batch requests fail (by custom_id): they land in the error file with a 500.</summary>
    public Func<string, bool> BatchFails { get; set; } = _ => false;

    /// <summary>Status polls before a batch completes.</summary>
    public int BatchPollsToFinish { get; set; } = 2;

    /// <summary>Files uploaded with purpose "batch".</summary>
    public int FilesUploaded { get; private set; }

    public int BatchesCreated => _batches.Count;

    /// <summary>The custom ids of every batch line answered (successes and failures).</summary>
    public IReadOnlyList<string> BatchLines => _batchLines.ToArray();

    private void MapBatches(WebApplication app, string prefix)
    {
        app.MapPost(prefix + "/files", UploadAsync);
        app.MapPost(prefix + "/batches", CreateBatchAsync);
        app.MapGet(prefix + "/batches/{id}", GetBatchAsync);
        app.MapGet(prefix + "/files/{id}/content", FileContentAsync);
    }

    private async Task UploadAsync(HttpContext http)
    {
        if (!Authorized(http))
        {
            await ErrorAsync(http.Response, 401, "Invalid API Key", "invalid_request_error", "invalid_api_key");
            return;
        }

        var form = await http.Request.ReadFormAsync();
        if (form["purpose"] != "batch" || form.Files["file"] is not { } file)
        {
            await ErrorAsync(http.Response, 400, "purpose must be 'batch' and a file is required", "invalid_request_error", "invalid_request");
            return;
        }

        using var reader = new StreamReader(file.OpenReadStream(), Encoding.UTF8);
        var id = "file_" + Guid.NewGuid().ToString("N");
        _files[id] = await reader.ReadToEndAsync();
        FilesUploaded++;
        await JsonAsync(http.Response, new JsonObject { ["id"] = id, ["object"] = "file", ["bytes"] = file.Length, ["filename"] = file.FileName, ["purpose"] = "batch" });
    }

    private async Task CreateBatchAsync(HttpContext http)
    {
        if (!Authorized(http))
        {
            await ErrorAsync(http.Response, 401, "Invalid API Key", "invalid_request_error", "invalid_api_key");
            return;
        }

        var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
        var fileId = body["input_file_id"]?.GetValue<string>();
        if (fileId is null || !_files.TryGetValue(fileId, out var input) || body["endpoint"]?.GetValue<string>() != "/v1/chat/completions")
        {
            await ErrorAsync(http.Response, 400, "input_file_id must name an uploaded file and endpoint be /v1/chat/completions", "invalid_request_error", "invalid_request");
            return;
        }

        var lines = input.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        var batch = new Batch("batch_" + Guid.NewGuid().ToString("N"), fileId, lines);
        _batches[batch.Id] = batch;
        await JsonAsync(http.Response, batch.ToJson());
    }

    private async Task GetBatchAsync(HttpContext http, string id)
    {
        if (!Authorized(http) || !_batches.TryGetValue(id, out var batch))
        {
            await ErrorAsync(http.Response, 404, "batch not found", "invalid_request_error", "not_found");
            return;
        }

        lock (batch)
        {
            batch.Polls++;
            if (batch.Status != "completed")
            {
                batch.Status = batch.Polls >= BatchPollsToFinish ? "completed" : "in_progress";
                if (batch.Status == "completed")
                {
                    Run(batch);
                }
            }
        }

        await JsonAsync(http.Response, batch.ToJson());
    }

    private async Task FileContentAsync(HttpContext http, string id)
    {
        if (!Authorized(http) || !_files.TryGetValue(id, out var content))
        {
            await ErrorAsync(http.Response, 404, "file not found", "invalid_request_error", "not_found");
            return;
        }

        http.Response.ContentType = "application/octet-stream";
        await http.Response.WriteAsync(content);
    }

    private void Run(Batch batch)
    {
        var output = new StringBuilder();
        var errors = new StringBuilder();
        foreach (var line in batch.Lines)
        {
            var customId = line["custom_id"]!.GetValue<string>();
            _batchLines.Enqueue(customId);
            var id = "batch_req_" + Guid.NewGuid().ToString("N");
            if (BatchFails(customId))
            {
                var error = new JsonObject { ["error"] = new JsonObject { ["message"] = "Internal Server Error", ["type"] = "server_error", ["code"] = "internal_server_error" } };
                errors.Append(new JsonObject { ["id"] = id, ["custom_id"] = customId, ["response"] = new JsonObject { ["status_code"] = 500, ["body"] = error }, ["error"] = null }.ToJsonString()).Append('\n');
                batch.Failed++;
                continue;
            }

            var completion = Complete(line["body"]!.AsObject());
            output.Append(new JsonObject { ["id"] = id, ["custom_id"] = customId, ["response"] = new JsonObject { ["status_code"] = 200, ["request_id"] = "req_" + id, ["body"] = completion }, ["error"] = null }.ToJsonString()).Append('\n');
            batch.Completed++;
        }

        batch.OutputFileId = Store(output);
        batch.ErrorFileId = errors.Length > 0 ? Store(errors) : null;

        string Store(StringBuilder text)
        {
            var fileId = "file_" + Guid.NewGuid().ToString("N");
            _files[fileId] = text.ToString();
            return fileId;
        }
    }

    private static async Task JsonAsync(HttpResponse response, JsonObject body)
    {
        response.ContentType = "application/json";
        await response.WriteAsync(body.ToJsonString());
    }

    private sealed class Batch(string id, string inputFileId, JsonObject[] lines)
    {
        public string Id { get; } = id;

        public JsonObject[] Lines { get; } = lines;

        public string Status { get; set; } = "validating";

        public int Polls { get; set; }

        public int Completed { get; set; }

        public int Failed { get; set; }

        public string? OutputFileId { get; set; }

        public string? ErrorFileId { get; set; }

        public JsonObject ToJson() => new()
        {
            ["id"] = Id,
            ["object"] = "batch",
            ["endpoint"] = "/v1/chat/completions",
            ["input_file_id"] = inputFileId,
            ["completion_window"] = "24h",
            ["status"] = Status,
            ["output_file_id"] = OutputFileId,
            ["error_file_id"] = ErrorFileId,
            ["request_counts"] = new JsonObject { ["total"] = Lines.Length, ["completed"] = Completed, ["failed"] = Failed },
        };
    }
}
