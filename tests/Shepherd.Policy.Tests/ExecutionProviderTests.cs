using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shepherd.Contracts.V1;
using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy.Tests;

/// <summary>
/// Policy:ExecutionProvider = cuda on a machine (and an OnnxRuntime build) without CUDA: the service says why in its
/// log, runs the encoder on the CPU and answers as the CPU configuration does, instead of failing to start.
/// </summary>
[Collection(PolicyCollection.Name)]
public sealed class ExecutionProviderTests(PolicyFixture fixture)
{
    [SkippableFact]
    public async Task CudaWithoutCudaFallsBackToTheCpuWithALogLineAndPredictsTheSame()
    {
        Skip.If(EncoderRuntimeOptions.TryCuda(0) is null, "this machine has a working CUDA execution provider: there is no fallback to see");
        var logs = new ConcurrentQueue<string>();
        await using var cuda = PolicyServiceHost.Build(
            ["--urls", "http://127.0.0.1:0", $"--Policy:BundlePath={fixture.ProactiveBundle}", "--Policy:ExecutionProvider=cuda"],
            b => b.Logging.SetMinimumLevel(LogLevel.Warning).AddProvider(new ListLoggerProvider(logs)));
        await cuda.StartAsync();
        await using var cpu = await PolicyServiceHostRunner.StartAsync($"--Policy:BundlePath={fixture.ProactiveBundle}");
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(cuda.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var request = new PredictRequest { Query = "What is 17 * 3?" };

        var onFallback = await new PolicyService.PolicyServiceClient(channel).PredictAsync(request);
        var onCpu = await cpu.Client.PredictAsync(request);

        Assert.Equal(EncoderExecutionProvider.Cpu, cuda.Services.GetRequiredService<PolicyRegistry>().ExecutionProvider);
        Assert.Contains(logs, l => l.Contains("CUDA execution provider is unavailable", StringComparison.Ordinal) && l.Contains("runs on the CPU", StringComparison.Ordinal));
        Assert.Equal(onCpu.PHint, onFallback.PHint, 1e-6);
        Assert.Equal(onCpu.RawSize, onFallback.RawSize, 1e-6);
    }

    private sealed class ListLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
