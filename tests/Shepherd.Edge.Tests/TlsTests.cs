using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Shepherd.Contracts.V1;
using Shepherd.Edge.Auth;

namespace Shepherd.Edge.Tests;

/// <summary>
/// The edge as deploy/k8s runs it: TLS from a PEM certificate and key (Kestrel__Endpoints__Https__*) on the public
/// listener, the metrics listener beside it (Metrics__Url joins the configured endpoints) serving the scrape and the
/// probes but no route.
/// </summary>
public sealed class TlsTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("shepherd-edge-tls-").FullName;

    [Fact]
    public async Task GrpcOverTlsIsAnsweredAndTheMetricsListenerServesOnlyTheScrapeAndTheProbes()
    {
        var (certificate, key) = WritePem();
        await using var upstream = await FakeUpstream.StartAsync("replica-tls");
        var https = FreePort();
        var metrics = FreePort();
        await using var edge = EdgeApp.Build(
        [
            $"--Kestrel:Endpoints:Https:Url=https://127.0.0.1:{https}",
            "--Kestrel:Endpoints:Https:Protocols=Http1AndHttp2",
            $"--Kestrel:Endpoints:Https:Certificate:Path={certificate}",
            $"--Kestrel:Endpoints:Https:Certificate:KeyPath={key}",
            $"--Metrics:Url=http://127.0.0.1:{metrics}",
            "--Identity:SigningKey=" + EdgeHarness.IdentityKey,
            $"--ReverseProxy:Clusters:orchestrator:Destinations:d1:Address={upstream.Address}",
            "--Edge:ApiKeys:0:Id=team-a",
            "--Edge:ApiKeys:0:Sha256=" + ApiKeyHasher.Hash(EdgeHarness.TeamA.Secret),
            "--Logging:LogLevel:Default=Warning",
        ]);
        await edge.StartAsync();
        using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{https}", new GrpcChannelOptions { HttpHandler = handler });
        using var http = new HttpClient();

        var answer = await new ShepherdService.ShepherdServiceClient(channel).AnswerAsync(new AnswerRequest { Query = "1+1" }, EdgeHarness.Bearer(EdgeHarness.TeamA));
        var scrape = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metrics}/metrics"));
        using var health = await http.GetAsync(new Uri($"http://127.0.0.1:{metrics}/health"));
        using var route = await http.PostAsync(new Uri($"http://127.0.0.1:{metrics}/shepherd.v1.ShepherdService/Answer"), new ByteArrayContent([]));
        var plaintext = await Record.ExceptionAsync(() => http.GetAsync(new Uri($"http://127.0.0.1:{https}/health")));

        Assert.Equal("team-a", answer.FinalAnswer);
        Assert.Contains("shepherd_edge_requests_total{", scrape, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, route.StatusCode);
        Assert.NotNull(plaintext);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A self-signed certificate for 127.0.0.1 as a kubernetes.io/tls Secret holds it: tls.crt and tls.key, PEM.</summary>
    private (string Certificate, string Key) WritePem()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=shepherd-edge", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var crt = Path.Combine(_directory, "tls.crt");
        var key = Path.Combine(_directory, "tls.key");
        File.WriteAllText(crt, certificate.ExportCertificatePem());
        File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        return (crt, key);
    }
}
