using System.Threading.Channels;
using Grpc.Core;
using Shepherd.Contracts.V1;
using Shepherd.Core.Errors;
using Shepherd.Slm.Inference;
using Shepherd.Slm.Model;

namespace Shepherd.Slm.Grpc;

public sealed class SlmGrpcService(
    LlamaModel model,
    GenerationEngine engine,
    SlmInputBuilder inputs,
    SlmMetrics metrics) : SlmService.SlmServiceBase
{
    public override async Task<GenerateResponse> Generate(GenerateRequest request, ServerCallContext context)
    {
        var tokens = inputs.BuildPrompt(request.Prompt, request.Messages, request.Hint);
        var spec = inputs.BuildSpec(request);
        var result = await engine.GenerateAsync(tokens, spec, sink: null, context.CancellationToken);
        return ToResponse(result);
    }

    public override async Task GenerateStream(GenerateStreamRequest request, IServerStreamWriter<GenerateStreamResponse> responseStream, ServerCallContext context)
    {
        var generate = request.Request ?? throw new InvalidRequestException("request", "is required");
        var tokens = inputs.BuildPrompt(generate.Prompt, generate.Messages, generate.Hint);
        var spec = inputs.BuildSpec(generate);

        // The decode loop must never block on a slow client: deltas go through an unbounded channel.
        var deltas = Channel.CreateUnbounded<CompletionDelta>(new UnboundedChannelOptions { SingleReader = true });
        var generation = engine.GenerateAsync(
            tokens, spec, (index, text) => deltas.Writer.TryWrite(new CompletionDelta { Index = index, Text = text }), context.CancellationToken);
        _ = generation.ContinueWith(_ => deltas.Writer.TryComplete(), TaskScheduler.Default);

        await foreach (var delta in deltas.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new GenerateStreamResponse { Delta = delta }, context.CancellationToken);
        }

        var result = await generation;
        await responseStream.WriteAsync(new GenerateStreamResponse { Done = ToResponse(result) }, context.CancellationToken);
    }

    public override Task<CountTokensResponse> CountTokens(CountTokensRequest request, ServerCallContext context)
    {
        var tokens = inputs.BuildPrompt(request.Prompt, request.Messages, request.Hint);
        return Task.FromResult(new CountTokensResponse { TokenCount = tokens.Length });
    }

    public override Task<TokenizeResponse> Tokenize(TokenizeRequest request, ServerCallContext context)
    {
        inputs.RequireTokenizable("text", request.Text);
        var response = new TokenizeResponse();
        response.TokenIds.AddRange(model.Tokenize(request.Text, request.AddBos, special: false).Select(t => (int)t));
        return Task.FromResult(response);
    }

    public override Task<DetokenizeResponse> Detokenize(DetokenizeRequest request, ServerCallContext context)
    {
        for (var i = 0; i < request.TokenIds.Count; i++)
        {
            if (request.TokenIds[i] < 0 || request.TokenIds[i] >= model.VocabSize)
            {
                throw new InvalidRequestException($"token_ids[{i}]", $"must be in [0, {model.VocabSize})");
            }
        }

        return Task.FromResult(new DetokenizeResponse { Text = model.Detokenize(request.TokenIds.ToArray()) });
    }

    public override Task<SlmServiceInfoResponse> Info(SlmServiceInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new SlmServiceInfoResponse
        {
            ModelName = model.Name,
            ContextSize = model.ContextSize,
            VocabSize = model.VocabSize,
            HasChatTemplate = model.ChatTemplate is not null,
            Backend = LlamaModel.Backend,
            MaxSequences = model.MaxSequences,
            MaxQueue = engine.MaxQueue,
            Threads = model.Threads,
            ActiveRequests = engine.ActiveRequests,
            QueuedRequests = engine.QueuedRequests,
            PrefixCacheEntries = model.PrefixCacheEntries,
            PrefixCacheHits = engine.PrefixCacheHits,
            ActiveSequences = engine.ActiveSequences,
            ReservedKvCells = engine.ReservedCells,
            DecodeFailures = engine.DecodeFailures,
            ContextResets = engine.ContextResets,
            BatchTokens = model.BatchTokens,
            AcceptedRequests = engine.AcceptedRequests,
        });

    private GenerateResponse ToResponse(GenerationResult result)
    {
        metrics.Generated(result);
        var response = new GenerateResponse
        {
            PromptTokens = result.PromptTokens,
            Model = model.Name,
            Timings = new GenerationTimings { QueueMs = result.QueueMs, PrefillMs = result.PrefillMs, DecodeMs = result.DecodeMs },
        };
        response.Completions.AddRange(result.Completions.Select(c => new Completion
        {
            Index = c.Index,
            Text = c.Text,
            GeneratedTokens = c.GeneratedTokens,
            MeanEntropy = c.MeanEntropy,
            FinishReason = c.Finish switch
            {
                CompletionFinish.Stop => FinishReason.Stop,
                CompletionFinish.Length => FinishReason.Length,
                _ => FinishReason.Cancelled,
            },
        }));
        return response;
    }
}
