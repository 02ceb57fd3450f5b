using System.Net;
using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace Shepherd.Orchestrator.Grpc;

/// <summary>
/// <c>dns:///host:port</c> resolved every <see cref="OrchestratorOptions.DnsRefreshSeconds"/> and again on a
/// connection failure. grpc-dotnet's own DnsResolver refuses to resolve more often than once every 15 s whatever its
/// refresh interval, so a replica joining a compose alias or a headless Service could wait 15 s for traffic; this one
/// keeps only a 1 s floor (a failing address cannot make it query DNS in a loop).
/// </summary>
internal sealed class PeriodicDnsResolver(Uri address, int defaultPort, TimeSpan period, ILoggerFactory loggers, TimeProvider time)
    : PollingResolver(loggers)
{
    private static readonly TimeSpan Floor = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger = loggers.CreateLogger<PeriodicDnsResolver>();
    private ITimer? _timer;
    private DateTimeOffset _lastResolve = DateTimeOffset.MinValue;

    protected override void OnStarted()
    {
        base.OnStarted();
        _timer = time.CreateTimer(_ => Refresh(), null, period, period);
    }

    protected override async Task ResolveAsync(CancellationToken cancellationToken)
    {
        var since = time.GetUtcNow() - _lastResolve;
        if (since < Floor)
        {
            await Task.Delay(Floor - since, time, cancellationToken);
        }

        _lastResolve = time.GetUtcNow();
        // dns:///host:port keeps host:port in the path; dns://authority/host:port names a DNS server we do not use.
        var target = new Uri("tcp://" + address.AbsolutePath.TrimStart('/'));
        var port = target.Port == -1 ? defaultPort : target.Port;
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(target.Host, cancellationToken);
            Listener(ResolverResult.ForResult(addresses.Select(a => new BalancerAddress(a.ToString(), port)).ToArray()));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            OrchestratorLog.DnsResolutionFailed(_logger, target.Host, ex);
            Listener(ResolverResult.ForFailure(new Status(StatusCode.Unavailable, $"DNS resolution of '{target.Host}' failed: {ex.Message}")));
        }
    }

    protected override void Dispose(bool disposing)
    {
        _timer?.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Makes every <c>dns:</c> channel address a <see cref="PeriodicDnsResolver"/>.</summary>
internal sealed class PeriodicDnsResolverFactory(TimeSpan period, TimeProvider time) : ResolverFactory
{
    public override string Name => "dns";

    public override Resolver Create(ResolverOptions options) =>
        new PeriodicDnsResolver(options.Address, options.DefaultPort, period, options.LoggerFactory, time);
}
