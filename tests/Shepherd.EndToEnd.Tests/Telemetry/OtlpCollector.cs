using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Shepherd.EndToEnd.Tests.Telemetry.Otlp;

namespace Shepherd.EndToEnd.Tests.Telemetry;

/// <summary>One span as a service exported it: ids in lowercase hex, the service from its resource's service.name.</summary>
public sealed record CollectedSpan(string Service, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, IReadOnlyDictionary<string, string> Attributes)
{
    public const int Server = 2;
    public const int Client = 3;

    public override string ToString() => $"{Service}: {Name} ({(Kind == Server ? "server" : Kind == Client ? "client" : "internal")})";
}

/// <summary>
/// A local OTLP/HTTP (protobuf) collector on 127.0.0.1: the services export to it as they would to an
/// OpenTelemetry Collector (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf). It keeps every
/// span of /v1/traces and acknowledges metrics and logs without reading them.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<CollectedSpan> _spans = new();

    private OtlpCollector(WebApplication app) => _app = app;

    public string Endpoint { get; private set; } = "";

    public IReadOnlyList<CollectedSpan> Spans => _spans.ToArray();

    public static async Task<OtlpCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var collector = new OtlpCollector(app);
        app.MapPost("/v1/traces", (Func<HttpContext, Task<IResult>>)collector.TracesAsync);
        app.MapPost("/v1/metrics", () => Results.Bytes([], "application/x-protobuf"));
        app.MapPost("/v1/logs", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        collector.Endpoint = app.Urls.First();
        return collector;
    }

    /// <summary>The spans of one trace, waiting until <paramref name="complete"/> holds or the timeout passes.</summary>
    public async Task<IReadOnlyList<CollectedSpan>> TraceAsync(string traceId, Func<IReadOnlyList<CollectedSpan>, bool> complete, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var spans = _spans.Where(s => s.TraceId == traceId).ToArray();
            if (complete(spans) || DateTime.UtcNow > until)
            {
                return spans;
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task<IResult> TracesAsync(HttpContext http)
    {
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body);
        var request = ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray());
        foreach (var resource in request.ResourceSpans)
        {
            var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
            foreach (var scope in resource.ScopeSpans)
            {
                foreach (var span in scope.Spans)
                {
                    _spans.Enqueue(new CollectedSpan(
                        service, scope.Scope?.Name ?? "",
                        Convert.ToHexStringLower(span.TraceId.Span), Convert.ToHexStringLower(span.SpanId.Span), Convert.ToHexStringLower(span.ParentSpanId.Span),
                        span.Name, span.Kind,
                        span.Attributes.ToDictionary(a => a.Key, a => a.Value?.ValueCase switch
                        {
                            AnyValue.ValueOneofCase.StringValue => a.Value.StringValue,
                            AnyValue.ValueOneofCase.IntValue => a.Value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            AnyValue.ValueOneofCase.BoolValue => a.Value.BoolValue ? "true" : "false",
                            AnyValue.ValueOneofCase.DoubleValue => a.Value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            _ => "",
                        })));
                }
            }
        }

        return Results.Bytes([], "application/x-protobuf");
    }
}
