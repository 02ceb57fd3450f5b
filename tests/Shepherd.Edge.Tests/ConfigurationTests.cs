using Microsoft.Extensions.Options;
using Shepherd.Edge.Auth;
using Shepherd.TestSupport;

namespace Shepherd.Edge.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public void HashIsLowercaseHexOfSha256()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyHasher.Hash("abc"));
    }

    [Fact]
    public async Task HashKeyCommandPrintsTheHash()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Shepherd.Edge.dll");

        var run = await ExternalTool.RunAsync("dotnet", [dll, "hash-key", "abc"], TimeSpan.FromSeconds(60));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", run.StdOut.Trim());
    }

    [Fact]
    public async Task AKeyPastedInsteadOfItsHashFailsStartWithoutEchoingIt()
    {
        // Validation runs when the host is built or started, whichever reads the options first.
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = EdgeApp.Build(["--urls", "http://127.0.0.1:0"], b =>
            {
                b.Configuration["Logging:LogLevel:Default"] = "None";
                b.Configuration["Edge:ApiKeys:0:Id"] = "team-a";
                b.Configuration["Edge:ApiKeys:0:Sha256"] = "sk-live-pasted-by-mistake";
            });
            await app.StartAsync();
        });

        Assert.Contains("Edge:ApiKeys:0:Sha256 must be 64 hex digits", error.Message);
        Assert.DoesNotContain("sk-live", error.Message);
    }
}
