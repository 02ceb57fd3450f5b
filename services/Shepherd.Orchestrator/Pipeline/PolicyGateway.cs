using Grpc.Core;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Policy;
using CorePolicyMode = Shepherd.Core.Policy.PolicyMode;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>The policy-service is down, not configured, or has no bundle for the mode.</summary>
public sealed class PolicyUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner);

public sealed class PolicyGateway(PolicyService.PolicyServiceClient? client, IOptions<OrchestratorOptions> options, TimeProvider time)
{
    /// <summary>The prediction in <paramref name="mode"/> (reactive: with the SLM's mean entropy and length) under the caller's α and η overrides.</summary>
    public async Task<PolicyResult> PredictAsync(AnswerContext context, CorePolicyMode mode, double meanEntropy, double meanOutputLength, CancellationToken cancellationToken)
    {
        if (client is null)
        {
            throw new PolicyUnavailableException("no policy-service configured (Orchestrator:PolicyAddress)");
        }

        var request = new PredictRequest { Query = context.Item.Query, Mode = mode == CorePolicyMode.Reactive ? Contracts.V1.PolicyMode.Reactive : Contracts.V1.PolicyMode.Proactive };
        if (mode == CorePolicyMode.Reactive)
        {
            // The policy counts |q| itself, in its encoder's tokens.
            request.Features[PolicyFeatureNames.MeanEntropy] = meanEntropy;
            request.Features[PolicyFeatureNames.MeanOutputLength] = meanOutputLength;
        }

        if (context.AlphaOverride is { } a)
        {
            request.Alpha = a;
        }

        if (context.EtaOverride is { } e)
        {
            request.EtaHint = e;
        }

        try
        {
            var response = await client.PredictAsync(
                request, deadline: context.DeadlineFor(TimeSpan.FromSeconds(options.Value.DownstreamTimeoutSeconds), time), cancellationToken: cancellationToken);
            return new PolicyResult(response.PHint, response.RawSize, response.BundleId, response.Alpha, response.EtaHint, response.HintTokens, response.RouteToLlm, response.QueryLength);
        }
        catch (RpcException ex) when (ex.StatusCode is not StatusCode.Cancelled)
        {
            throw new PolicyUnavailableException($"policy-service {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
    }
}
