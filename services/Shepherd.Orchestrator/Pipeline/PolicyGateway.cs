using Grpc.Core;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>The policy-service is down, not configured, or has no bundle for the mode.</summary>
public sealed class PolicyUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner);

public sealed class PolicyGateway(PolicyService.PolicyServiceClient? client, IOptions<OrchestratorOptions> options, TimeProvider time)
{
    public async Task<PredictResponse> PredictAsync(AnswerContext context, PolicyMode mode, IReadOnlyDictionary<string, double> features, double? alpha, int? etaHint, CancellationToken cancellationToken)
    {
        if (client is null)
        {
            throw new PolicyUnavailableException("no policy-service configured (Orchestrator:PolicyAddress)");
        }

        var request = new PredictRequest { Query = context.Item.Query, Mode = mode };
        foreach (var (name, value) in features)
        {
            request.Features[name] = value;
        }

        if (alpha is { } a)
        {
            request.Alpha = a;
        }

        if (etaHint is { } e)
        {
            request.EtaHint = e;
        }

        using (context.Stage(mode == PolicyMode.Reactive ? "policy.reactive" : "policy.proactive"))
        {
            try
            {
                var response = await client.PredictAsync(
                    request, deadline: context.DeadlineFor(TimeSpan.FromSeconds(options.Value.DownstreamTimeoutSeconds), time), cancellationToken: cancellationToken);
                context.Trace.PHint = response.PHint;
                context.Trace.RawSize = response.RawSize;
                context.Trace.PolicyBundleId = response.BundleId;
                context.Trace.Alpha = response.Alpha;
                context.Trace.EtaHint = response.EtaHint;
                context.Trace.QueryLength = response.QueryLength;
                return response;
            }
            catch (RpcException ex) when (ex.StatusCode is not StatusCode.Cancelled)
            {
                throw new PolicyUnavailableException($"policy-service {ex.StatusCode}: {ex.Status.Detail}", ex);
            }
        }
    }
}
