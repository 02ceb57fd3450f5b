using Grpc.Core;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Llm;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>The slm-service is down, overloaded or timed out.</summary>
public sealed class SlmUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner)
{
    /// <summary>It refused for load (RESOURCE_EXHAUSTED): asking it again now only adds load.</summary>
    public bool Overloaded { get; init; }

    /// <summary>How long the slm-service asked callers to wait (RetryInfo or retry-after), when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>
/// Calls the slm-service with the caller's remaining deadline (capped by Orchestrator:DownstreamTimeoutSeconds) and
/// cancellation; returns what it gave. A refusal for load carries the service's retry advice; the live executor
/// remembers it for the rest of the request.
/// </summary>
public sealed class SlmGateway(SlmService.SlmServiceClient client, IOptions<OrchestratorOptions> options, TimeProvider time)
{
    private readonly OrchestratorOptions _options = options.Value;

    public SlmService.SlmServiceClient Client => client;

    /// <summary>Where the slm-service is, normalised (<see cref="LlmSources.Normalize"/>) to compare with the stand-in LLM's address.</summary>
    public string Endpoint { get; } = LlmSources.Normalize(options.Value.SlmAddress);

    /// <summary>n samples of one prompt in one batched call (they share the prefill); streamed to the context's sink when asked.</summary>
    public async Task<SlmResult> GenerateAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int n, bool stream, CancellationToken cancellationToken)
    {
        var request = new GenerateRequest
        {
            MaxTokens = _options.SlmMaxTokens,
            Temperature = (float)_options.SampleTemperature,
            TopP = 0.95f,
            N = n,
        };
        request.Messages.AddRange(messages.Select(m => new Contracts.V1.ChatMessage { Role = m.Role, Content = m.Content }));
        var deadline = context.DeadlineFor(TimeSpan.FromSeconds(_options.DownstreamTimeoutSeconds), time);
        GenerateResponse response;
        try
        {
            response = stream && n == 1 && context.TextSink is { } sink
                ? await StreamAsync(request, sink, deadline, cancellationToken)
                : await client.GenerateAsync(request, deadline: deadline, cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.ResourceExhausted)
        {
            throw new SlmUnavailableException($"slm-service overloaded ({ex.StatusCode})", ex) { Overloaded = true, RetryAfter = RetryAdvice.From(ex) };
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.DeadlineExceeded && deadline == context.Deadline)
        {
            // The call ran under the caller's own deadline, and it ran out: no fallback can help, and none is tried.
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the request's deadline passed while the slm-service was working on it"));
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown)
        {
            throw new SlmUnavailableException($"slm-service {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument)
        {
            // The slm names its own fields (messages[i].content); the caller sent a query, not messages.
            throw new Core.Errors.InvalidRequestException("query", $"the prompt built from the query and task_context was refused by the slm-service ({ex.Status.Detail})");
        }

        return new SlmResult(response.Model, response.PromptTokens, response.Completions.Select(c => new SlmText(c.Text, c.GeneratedTokens, c.MeanEntropy)).ToArray());
    }

    private async Task<GenerateResponse> StreamAsync(GenerateRequest request, Action<string> sink, DateTime deadline, CancellationToken cancellationToken)
    {
        using var call = client.GenerateStream(new GenerateStreamRequest { Request = request }, deadline: deadline, cancellationToken: cancellationToken);
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var message = call.ResponseStream.Current;
            if (message.EventCase == GenerateStreamResponse.EventOneofCase.Delta)
            {
                sink(message.Delta.Text);
            }
            else if (message.EventCase == GenerateStreamResponse.EventOneofCase.Done)
            {
                return message.Done;
            }
        }

        throw new SlmUnavailableException("slm-service stream ended without a result");
    }
}
