using System.Text.Json;
using Grpc.Core;
using Grpc.Reflection.V1Alpha;
using Shepherd.TestSupport;

namespace Shepherd.Slm.Tests;

/// <summary>Clients that know no .proto: gRPC server reflection, as grpcurl and buf curl use it.</summary>
[Collection(SlmCollection.Name)]
public sealed class ReflectionTests(SlmServiceFixture fixture)
{
    [SkippableFact]
    public async Task ReflectionListsTheServices()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var client = new ServerReflection.ServerReflectionClient(fixture.Channel);
        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();

        Assert.Contains("shepherd.v1.SlmService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [SkippableFact]
    public async Task BufCurlListsMethodsAndCallsGenerateWithJson()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);
        var buf = ExternalTool.Find("buf");
        Skip.If(buf is null, "buf is not on PATH (npm install -g @bufbuild/buf; .ci/run installs it)");

        var address = fixture.Address!.ToString().TrimEnd('/');
        var list = await ExternalTool.RunAsync(buf!, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", address], TimeSpan.FromSeconds(60));
        Assert.True(list.ExitCode == 0, list.StdErr);
        Assert.Contains("shepherd.v1.SlmService/Generate", list.StdOut);
        Assert.Contains("shepherd.v1.SlmService/Info", list.StdOut);

        var call = await ExternalTool.RunAsync(
            buf!,
            ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", """{"prompt":"Once upon a time","maxTokens":8,"n":2,"temperature":0}""", $"{address}/shepherd.v1.SlmService/Generate"],
            TimeSpan.FromSeconds(60));
        Assert.True(call.ExitCode == 0, call.StdErr);
        using var json = JsonDocument.Parse(call.StdOut);
        var completions = json.RootElement.GetProperty("completions");
        Assert.Equal(2, completions.GetArrayLength());
        Assert.False(string.IsNullOrEmpty(completions[0].GetProperty("text").GetString()));
        Assert.Equal("FINISH_REASON_LENGTH", completions[0].GetProperty("finishReason").GetString());

        var bad = await ExternalTool.RunAsync(
            buf!,
            ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", """{"prompt":""}""", $"{address}/shepherd.v1.SlmService/Generate"],
            TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("invalid_argument", bad.StdErr);
    }
}
