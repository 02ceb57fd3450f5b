using System.Diagnostics;
using Grpc.Core;
using Shepherd.Policy.Batching;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Prediction;
using WireMode = Shepherd.Contracts.V1.PolicyMode;

namespace Shepherd.Policy.Grpc;

/// <summary>shepherd.v1.PolicyService over the loaded bundles. Validation failures become INVALID_ARGUMENT.</summary>
public sealed class PolicyGrpcService(PolicyRegistry registry, IOptions<PolicyServiceOptions> options, PolicyMetrics metrics) : PolicyService.PolicyServiceBase
{
    public override async Task<PredictResponse> Predict(PredictRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var policy = Resolve(request.Mode);
        var prediction = await policy.Batcher.PredictAsync(ToQuery(request), context.CancellationToken);
        metrics.Predicted("Predict", policy.Predictor.Mode.ToWire(), Stopwatch.GetElapsedTime(started));
        return ToResponse(prediction, policy.Predictor);
    }

    public override async Task<PredictBatchResponse> PredictBatch(PredictBatchRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var settings = options.Value;
        if (request.Requests.Count > settings.MaxBatchRequests)
        {
            throw new Core.Errors.InvalidRequestException(
                "requests", $"at most {settings.MaxBatchRequests} requests per call, got {request.Requests.Count}");
        }

        var results = new PredictResponse[request.Requests.Count];
        var groups = request.Requests
            .Select((r, i) => (Query: ToQuery(r), Index: i, Policy: Resolve(r.Mode)))
            .GroupBy(x => x.Policy)
            .Select(g => (Policy: g.Key, Items: g.ToArray()))
            .ToArray();

        // Every request is validated before any runs: a bad one fails the call with its index, and nothing is queued.
        foreach (var (policy, items) in groups)
        {
            foreach (var item in items)
            {
                policy.Predictor.Validate(item.Query, $"requests[{item.Index}].");
            }
        }

        foreach (var (policy, items) in groups)
        {
            // One inference job per chunk: single Predict callers get a turn between the chunks of a long batch.
            foreach (var chunk in items.Chunk(settings.MaxBatchSize))
            {
                var predictions = await policy.Batcher.PredictChunkAsync(chunk.Select(x => x.Query).ToArray(), context.CancellationToken);
                for (var i = 0; i < chunk.Length; i++)
                {
                    results[chunk[i].Index] = ToResponse(predictions[i], policy.Predictor);
                }
            }
        }

        var response = new PredictBatchResponse();
        response.Predictions.AddRange(results);
        metrics.Predicted("PredictBatch", "any", Stopwatch.GetElapsedTime(started));
        return response;
    }

    public override Task<PolicyServiceInfoResponse> Info(PolicyServiceInfoRequest request, ServerCallContext context)
    {
        var response = new PolicyServiceInfoResponse { DefaultMode = ToWire(registry.DefaultMode) };
        response.Bundles.AddRange(registry.Policies.Select(p => ToInfo(p.Predictor.Manifest)));
        return Task.FromResult(response);
    }

    private LoadedPolicy Resolve(WireMode mode)
    {
        var wanted = mode switch
        {
            WireMode.Unspecified => (Core.Policy.PolicyMode?)null,
            WireMode.Proactive => Core.Policy.PolicyMode.Proactive,
            WireMode.Reactive => Core.Policy.PolicyMode.Reactive,
            _ => throw new Core.Errors.InvalidRequestException("mode", $"unknown policy mode {(int)mode}"),
        };
        return registry.Find(wanted)
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"no {wanted?.ToWire()} policy bundle is loaded"));
    }

    private static PolicyQuery ToQuery(PredictRequest request) => new(
        request.Query,
        request.Features,
        request.HasAlpha ? request.Alpha : null,
        request.HasEtaHint ? request.EtaHint : null);

    private static PredictResponse ToResponse(PolicyPrediction prediction, PolicyPredictor predictor) => new()
    {
        PHint = prediction.PHint,
        RawSize = prediction.RawSize,
        HintTokens = prediction.HintTokens,
        RouteToLlm = prediction.RouteToLlm,
        Alpha = prediction.Alpha,
        EtaHint = prediction.EtaHint,
        BundleId = predictor.BundleId,
        Mode = ToWire(predictor.Mode),
        QueryLength = prediction.QueryTokens,
    };

    private static PolicyBundleInfo ToInfo(PolicyManifest manifest)
    {
        var info = new PolicyBundleInfo
        {
            BundleId = manifest.BundleId,
            Mode = ToWire(manifest.Mode),
            Encoder = manifest.Encoder.Name,
            EmbeddingDim = manifest.EmbeddingDim,
            Alpha = manifest.Alpha,
            EtaHint = manifest.EtaHint,
            NMax = manifest.NMax,
            CreatedAt = manifest.CreatedAt.ToString("O"),
            TrainingDataSha256 = manifest.TrainingDataSha256,
        };
        info.Features.AddRange(manifest.Features.Select(f => new Contracts.V1.FeatureSpec { Name = f.Name, Mean = f.Mean, Std = f.Std }));
        foreach (var (name, value) in manifest.Metrics)
        {
            info.Metrics[name] = value;
        }

        return info;
    }

    private static WireMode ToWire(Core.Policy.PolicyMode mode) => mode switch
    {
        Core.Policy.PolicyMode.Proactive => WireMode.Proactive,
        Core.Policy.PolicyMode.Reactive => WireMode.Reactive,
        _ => WireMode.Unspecified,
    };
}
