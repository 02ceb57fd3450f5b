using Shepherd.Edge.Auth;
using Shepherd.Edge.Proxy;
using Grpc.AspNetCore.Web;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Shepherd.ServiceDefaults;

namespace Shepherd.Edge;

/// <summary>
/// Builds the edge host: YARP routes and clusters from the "ReverseProxy" configuration section, API keys and
/// per-key rate limits from "Edge". Program runs it; functional tests start it on 127.0.0.1.
/// </summary>
public static class EdgeApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddEdgeServices();
        configure?.Invoke(builder);

        var app = builder.Build();
        // At start-up, so a missing signing key is said once before the first request, not at it.
        app.Services.GetRequiredService<IdentityForwarder>();
        // Metrics only on the metrics listener (Metrics:Url): the public listener has no /metrics route to proxy or serve.
        app.UseMetricsEndpoint();

        if (app.Configuration[$"{EdgeOptions.Section}:{nameof(EdgeOptions.Http1Url)}"] is { Length: > 0 } http1Url)
        {
            // The server takes --urls / ASPNETCORE_URLS only while its address list is empty: keep them, then add this one.
            var urls = app.Configuration[WebHostDefaults.ServerUrlsKey];
            foreach (var url in (string.IsNullOrWhiteSpace(urls) ? "http://localhost:5000" : urls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                app.Urls.Add(url);
            }

            app.Urls.Add(http1Url);
        }

        // gRPC-Web (HTTP/1.1 or 2, trailers in the body) becomes gRPC here, for every proxied route, so the orchestrator
        // replicas speak plain gRPC only; before the key check, so its trailers-only errors reach the client as gRPC-Web.
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        app.UseMiddleware<ApiKeyMiddleware>();
        // The edge's own health, local and open. Not MapDefaultEndpoints: its MalformedMessageMiddleware buffers
        // and parses every Shepherd request body, which here would repeat the upstream's own check, copy each
        // body, and leave YARP unable to lift the body size limit (a warning per call); its reflection service
        // would be shadowed by the reflection routes that pass through to the orchestrator anyway.
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        app.MapReverseProxy(proxy =>
        {
            proxy.UseMiddleware<UpstreamFailureMiddleware>();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }

    /// <summary>Runs the edge, or <c>hash-key [key]</c>: prints the SHA-256 hex to store in Edge:ApiKeys (stdin when no key).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "hash-key")
        {
            var key = args.Length > 1 ? args[1] : Console.In.ReadLine();
            if (string.IsNullOrEmpty(key))
            {
                await Console.Error.WriteLineAsync("usage: Shepherd.Edge hash-key <key>   (or the key on stdin)");
                return 2;
            }

            await Console.Out.WriteLineAsync(ApiKeyHasher.Hash(key));
            return 0;
        }

        await Build(args).RunAsync();
        return 0;
    }
}
