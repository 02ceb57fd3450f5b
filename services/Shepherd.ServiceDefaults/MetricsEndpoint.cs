using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// The "Metrics" section: where Prometheus scrapes. Off by default (four local services and parallel test stacks
/// would fight over one fixed port); a deployment sets <c>Metrics__Url=http://0.0.0.0:9464</c>.
/// </summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>An extra HTTP/1.1 listener serving only <see cref="Path"/>, e.g. http://0.0.0.0:9464. Empty: no scrape endpoint.</summary>
    public string Url { get; set; } = "";

    public string Path { get; set; } = "/metrics";

    /// <summary>The listener's port, or null when metrics are off.</summary>
    public int? Port => Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? uri.Port : null;
}

internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        if (options.Url.Length == 0)
        {
            return ValidateOptionsResult.Success;
        }

        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.IsDefaultPort && !options.Url.Contains(":80", StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail($"Metrics:Url must be an http:// URL with an explicit port, e.g. http://0.0.0.0:9464; got '{options.Url}'");
        }

        return options.Path.StartsWith('/') ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail("Metrics:Path must start with '/'");
    }
}

/// <summary>
/// The Prometheus scrape endpoint on a listener of its own. Only a request that arrived on that listener's port is
/// answered, so a service's public port (the edge's above all) never serves metrics, whatever Host header it sends.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>Adds the metrics listener to the server's URLs and makes it HTTP/1.1 (Prometheus does not speak h2c).</summary>
    internal static void AddMetricsListener(WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        var options = builder.Configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions();
        if (options.Port is not { } port)
        {
            return;
        }

        // Endpoints named in configuration (Kestrel:Endpoints, e.g. the edge's TLS listener) replace the URLs, so
        // the metrics listener joins them there.
        if (builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            builder.Configuration["Kestrel:Endpoints:Metrics:Url"] = options.Url;
            builder.Configuration["Kestrel:Endpoints:Metrics:Protocols"] = nameof(HttpProtocols.Http1);
            return;
        }

        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        if (string.IsNullOrWhiteSpace(urls))
        {
            urls = builder.Configuration[WebHostDefaults.HttpPortsKey] is { Length: > 0 } ports
                ? string.Join(';', ports.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => $"http://*:{p.Trim()}"))
                : "http://localhost:5000";
        }

        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, $"{urls};{options.Url}");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e =>
            e.Protocols = (e.EndPoint as IPEndPoint)?.Port == port ? HttpProtocols.Http1 : HttpProtocols.Http2));
    }

    /// <summary>Serves the scrape (and /health, /alive) on the metrics listener; put it first, before any middleware that routes or authenticates.</summary>
    public static WebApplication UseMetricsEndpoint(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value;
        if (options.Port is { } port)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(context =>
                context.Connection.LocalPort == port && context.Request.Path == options.Path);

            // The metrics listener answers the scrape and the health probes (the kubelet's httpGet where the public
            // port speaks TLS), nothing else: no gRPC service and no proxied route is reachable through it.
            app.Use((context, next) =>
            {
                if (context.Connection.LocalPort != port || context.Request.Path.Value is "/health" or "/alive")
                {
                    return next(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }

        return app;
    }
}
