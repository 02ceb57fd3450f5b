using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Shepherd.ServiceDefaults;

/// <summary>What every Shepherd host shares: logging, telemetry, health, reflection, h2c and error mapping.</summary>
public static class Extensions
{
    /// <summary>Meter and activity source names every service reports under.</summary>
    public const string TelemetryPrefix = "Shepherd";

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        // gRPC over cleartext needs HTTP/2 with prior knowledge (h2c): an Http1AndHttp2 listener without TLS
        // would speak HTTP/1.1 only. Endpoints from --urls / ASPNETCORE_URLS inherit this default.
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
        MetricsEndpoint.AddMetricsListener(builder);

        builder.Services.AddGrpc(o =>
        {
            o.EnableDetailedErrors = false;
            o.Interceptors.Add<ExceptionMappingInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        builder.Services.AddGrpcHealthChecks();

        builder.AddOpenTelemetryDefaults();
        return builder;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseMetricsEndpoint();
        app.UseMiddleware<MalformedMessageMiddleware>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        // Plain HTTP health for probes; over h2c: curl --http2-prior-knowledge http://host:port/health
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        return app;
    }

    private static void AddOpenTelemetryDefaults(this WebApplicationBuilder builder)
    {
        // service.name: OTEL_SERVICE_NAME when set, else the assembly (Shepherd.Edge, Shepherd.Orchestrator, …).
        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } named ? named : builder.Environment.ApplicationName;
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m => m
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter($"{TelemetryPrefix}.*")
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        // Traces only where a collector is configured: nothing leaves the machine by default, and a process that
        // exports nothing records no spans (an always-on sampler with no exporter cost every request its span tree).
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.WithTracing(t => t
                    .AddSource($"{TelemetryPrefix}.*")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    // A gRPC call is one client span named after its method (the HTTP/2 request under it is not repeated).
                    .AddGrpcClientInstrumentation())
                .UseOtlpExporter();
        }
    }
}
