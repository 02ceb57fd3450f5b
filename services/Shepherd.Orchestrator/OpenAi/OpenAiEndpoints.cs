using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Shepherd.Contracts.V1;
using Shepherd.Orchestrator.Grpc;
using Shepherd.Orchestrator.Pipeline;
using Shepherd.ServiceDefaults;

namespace Shepherd.Orchestrator.OpenAi;

/// <summary>
/// The OpenAI-compatible API (minimal APIs), reached through the edge's /v1 route, which checks the key, applies
/// its rate limit and forwards its id exactly as for gRPC. A completion runs the same <see cref="AnswerPipeline"/>
/// as Answer (stream: true as AnswerStream), so ledger, budgets and failures are the gRPC API's.
/// </summary>
public static class OpenAiEndpoints
{
    public static WebApplication MapOpenAiApi(this WebApplication app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapGet("/models", ListModels);
        v1.MapPost("/chat/completions", CompleteAsync);
        return app;
    }

    private static IResult ListModels()
    {
        var data = new JsonArray(ChatRequestMapper.ModelIds.Select(id => (JsonNode?)new JsonObject
        {
            ["id"] = id,
            ["object"] = "model",
            ["created"] = 0,
            ["owned_by"] = "shepherd",
        }).ToArray());
        return Results.Json(new JsonObject { ["object"] = "list", ["data"] = data });
    }

    private static async Task CompleteAsync(HttpContext http, AnswerPipeline pipeline, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(OpenAiEndpoints).FullName!);
        var cancel = http.RequestAborted;
        string keyId;
        AnswerRequest request;
        ChatCompletionRequest chat;
        try
        {
            keyId = http.RequestServices.GetRequiredService<CallerIdentity>().Resolve(http).KeyId;
            chat = await JsonSerializer.DeserializeAsync<ChatCompletionRequest>(http.Request.Body, OpenAiJson.Options, cancel)
                ?? throw new JsonException("the body is null", "$", null, null);
            request = ChatRequestMapper.ToAnswerRequest(chat, http.Request.Headers[ChatRequestMapper.TaskHeader]);
        }
        catch (Exception ex) when (OpenAiErrors.From(ex, cancel.IsCancellationRequested, logger) is { } error)
        {
            await error.WriteAsync(http.Response);
            return;
        }

        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (string.IsNullOrEmpty(request.RequestId))
        {
            request.RequestId = Guid.NewGuid().ToString("N");
        }

        if (!chat.Stream)
        {
            try
            {
                var answer = await pipeline.AnswerAsync(request, keyId, textSink: null, DateTime.MaxValue, cancel);
                await Results.Json(ChatResponseMapper.Completion(answer, chat.Model!, created)).ExecuteAsync(http);
            }
            catch (Exception ex) when (OpenAiErrors.From(ex, cancel.IsCancellationRequested, logger) is { } error)
            {
                await error.WriteAsync(http.Response);
            }

            return;
        }

        await StreamAsync(http, pipeline, request, keyId, chat, created, logger);
    }

    /// <summary>
    /// Server-sent events: a role chunk, a chunk per text delta, the last chunk with finish_reason and the "shepherd"
    /// object, a usage chunk when stream_options.include_usage asks for it, then "data: [DONE]". The response starts
    /// only with the first text (or the end), so a request that fails before any text gets a plain HTTP error; a
    /// failure after that ends the stream with an error event.
    /// </summary>
    private static async Task StreamAsync(HttpContext http, AnswerPipeline pipeline, AnswerRequest request, string keyId, ChatCompletionRequest chat, long created, ILogger logger)
    {
        var cancel = http.RequestAborted;
        var model = chat.Model!;
        var deltas = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var run = pipeline.AnswerAsync(request, keyId, text => deltas.Writer.TryWrite(text), DateTime.MaxValue, cancel);
        _ = run.ContinueWith(_ => deltas.Writer.TryComplete(), TaskScheduler.Default);
        var started = false;
        try
        {
            await foreach (var delta in deltas.Reader.ReadAllAsync(cancel))
            {
                if (!started)
                {
                    started = true;
                    await StartAsync(http, request.RequestId, model, created);
                }

                await EventAsync(http, ChatResponseMapper.Chunk(request.RequestId, model, created, new JsonObject { ["content"] = delta }));
            }

            var final = await run;
            if (!started)
            {
                started = true;
                await StartAsync(http, request.RequestId, model, created);
            }

            await EventAsync(http, ChatResponseMapper.Chunk(request.RequestId, model, created, delta: null, final));
            if (chat.StreamOptions?.IncludeUsage == true)
            {
                await EventAsync(http, ChatResponseMapper.Chunk(request.RequestId, model, created, delta: null, final, usageOnly: true));
            }

            await http.Response.WriteAsync("data: [DONE]\n\n", cancel);
            await http.Response.Body.FlushAsync(cancel);
        }
        catch (Exception ex) when (OpenAiErrors.From(ex, cancel.IsCancellationRequested, logger) is { } error)
        {
            if (!started)
            {
                await error.WriteAsync(http.Response);
                return;
            }

            await EventAsync(http, JsonSerializer.SerializeToNode(error.Body)!.AsObject());
        }
    }

    private static async Task StartAsync(HttpContext http, string requestId, string model, long created)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        await EventAsync(http, ChatResponseMapper.Chunk(requestId, model, created, new JsonObject { ["role"] = "assistant", ["content"] = "" }));
    }

    private static async Task EventAsync(HttpContext http, JsonObject data)
    {
        await http.Response.WriteAsync("data: " + data.ToJsonString() + "\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
