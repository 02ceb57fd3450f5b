using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Shepherd.Slm.Inference;

/// <summary>
/// Reports the decode loop, not just the process: when the loop cannot recover, gRPC health says NOT_SERVING and
/// /health and /alive fail, so balancers move traffic away and an orchestrator (kubelet, compose) restarts the service.
/// </summary>
internal sealed class EngineHealthCheck(GenerationEngine engine) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(engine.UnhealthyReason is { } reason
            ? HealthCheckResult.Unhealthy($"SLM decode loop: {reason}")
            : HealthCheckResult.Healthy($"{engine.ActiveRequests} active, {engine.QueuedRequests} queued"));
}
