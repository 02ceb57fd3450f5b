using System.Diagnostics.Metrics;

namespace Shepherd.Edge.Auth;

/// <summary>
/// Requests the edge forwarded and refused, by route and key id (meter "Shepherd.Edge"). The key id is the
/// configured public name; an unauthenticated caller is "none" (no key) or "unknown" (a key that matched none), so a
/// presented key, or anything derived from it, never becomes a label.
/// </summary>
internal sealed class EdgeMetrics
{
    public const string MeterName = "Shepherd.Edge";

    public const string NoKey = "none";
    public const string UnknownKey = "unknown";
    public const string PublicCaller = "public";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _refusals;

    public EdgeMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("shepherd.edge.requests", "{request}", "Requests forwarded upstream, by route and key id");
        _refusals = meter.CreateCounter<long>("shepherd.edge.refusals", "{request}", "Requests refused at the edge, by reason (auth, permission, rate), route and key id");
    }

    public void Forwarded(string route, string keyId) =>
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("key_id", keyId));

    public void Refused(string reason, string route, string keyId) =>
        _refusals.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("key_id", keyId));
}
