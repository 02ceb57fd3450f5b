using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Shepherd.Edge.Tests;

/// <summary>
/// Edge:Http1Url: an HTTP/1.1 listener beside the h2c one (gRPC-Web, the OpenAI API), and OpenAI-shaped refusals
/// on a route whose metadata asks for them.
/// </summary>
public sealed class Http1ListenerTests
{
    [Fact]
    public async Task TheHttp1ListenerSpeaksHttp1WhileTheMainPortStaysH2c()
    {
        var (main, http1) = ($"http://127.0.0.1:{FreePort()}", $"http://127.0.0.1:{FreePort()}");
        await using var app = EdgeApp.Build(["--urls", main, "--contentRoot", AppContext.BaseDirectory], b =>
        {
            b.Configuration["Logging:LogLevel:Default"] = "None";
            b.Configuration["Edge:Http1Url"] = http1;
            b.Configuration["ReverseProxy:Routes:openai:ClusterId"] = "orchestrator";
            b.Configuration["ReverseProxy:Routes:openai:Match:Path"] = "/v1/{**rest}";
            b.Configuration["ReverseProxy:Routes:openai:Metadata:Shepherd.Errors"] = "OpenAi";
            b.Configuration["ReverseProxy:Clusters:orchestrator:Destinations:d1:Address"] = "http://127.0.0.1:1";
        });
        await app.StartAsync();
        using var client = new HttpClient();

        using var overHttp1 = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, http1 + "/health") { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        using var overH2c = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, main + "/health") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        using var http1OnMain = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, main + "/health") { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        using var noKey = await client.GetAsync(http1 + "/v1/models");

        Assert.Equal(HttpStatusCode.OK, overHttp1.StatusCode);
        Assert.Equal(new Version(1, 1), overHttp1.Version);
        Assert.Equal(HttpStatusCode.OK, overH2c.StatusCode);
        Assert.Equal(new Version(2, 0), overH2c.Version);
        Assert.NotEqual(HttpStatusCode.OK, http1OnMain.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal("application/json", noKey.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await noKey.Content.ReadAsStringAsync());
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Contains("API key required", error.GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        await app.StopAsync();
    }

    [Fact]
    public async Task AnHttp1UrlWithoutAPortFailsStart()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = EdgeApp.Build(["--urls", "http://127.0.0.1:0"], b =>
            {
                b.Configuration["Logging:LogLevel:Default"] = "None";
                b.Configuration["Edge:Http1Url"] = "not a url";
            });
            await app.StartAsync();
        });

        Assert.Contains("Edge:Http1Url", error.Message);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
