using System.Diagnostics;
using Microsoft.Extensions.Options;
using Shepherd.Core.Policy;
using Shepherd.Policy.Batching;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Prediction;

namespace Shepherd.Policy;

/// <summary>A loaded bundle with its micro-batcher.</summary>
public sealed record LoadedPolicy(PolicyPredictor Predictor, PredictionBatcher Batcher);

/// <summary>
/// The bundles this service answers for, one per mode, loaded once at start-up. A bundle that cannot be
/// loaded stops the start with its path in the message.
/// </summary>
public sealed class PolicyRegistry(IOptions<PolicyServiceOptions> options, ILogger<PolicyRegistry> logger, PolicyMetrics? metrics = null) : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<PolicyMode, LoadedPolicy> _policies = [];

    public PolicyMode DefaultMode { get; private set; }

    /// <summary>Where the encoder actually runs (cpu when cuda was asked for but is absent).</summary>
    public EncoderExecutionProvider ExecutionProvider { get; private set; }

    public IReadOnlyCollection<LoadedPolicy> Policies => _policies.Values;

    /// <summary>The bundle for a mode; null means the default.</summary>
    public LoadedPolicy? Find(PolicyMode? mode) =>
        _policies.TryGetValue(mode ?? DefaultMode, out var policy) ? policy : null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var encoder = settings.EncoderRuntime();
        if (encoder.ExecutionProvider == EncoderExecutionProvider.Cuda && EncoderRuntimeOptions.TryCuda(encoder.CudaDeviceId) is { } absent)
        {
            PolicyLog.CudaFallback(logger, absent);
            encoder = encoder with { ExecutionProvider = EncoderExecutionProvider.Cpu };
        }

        ExecutionProvider = encoder.ExecutionProvider;
        var predictorOptions = new PolicyPredictorOptions { Encoder = encoder };
        var paths = new[] { settings.BundlePath }.Concat(settings.AdditionalBundlePaths).ToArray();
        for (var i = 0; i < paths.Length; i++)
        {
            var path = Path.GetFullPath(paths[i]);
            var started = Stopwatch.GetTimestamp();
            PolicyPredictor predictor;
            try
            {
                predictor = PolicyPredictor.Load(path, predictorOptions);
            }
            catch (PolicyBundleException ex)
            {
                PolicyLog.BundleLoadFailed(logger, path, ex);
                throw;
            }

            if (_policies.ContainsKey(predictor.Mode))
            {
                PolicyLog.DuplicateMode(logger, path, predictor.Mode.ToWire());
                predictor.Dispose();
                continue;
            }

            if (i == 0)
            {
                DefaultMode = predictor.Mode;
            }

            // An encoder that runs each text alone (int8) gains nothing from company, so its batcher never waits
            // for it: queued calls still share one Predict, without the MaxWaitMs of idle encoder.
            var wait = OnnxTextEncoder.RunsTextsAlone(predictor.Manifest.Encoder) ? TimeSpan.Zero : TimeSpan.FromMilliseconds(settings.MaxWaitMs);
            var batcher = new PredictionBatcher(predictor, settings.MaxBatchSize, wait, settings.QueueCapacity, logger, metrics);
            _policies[predictor.Mode] = new LoadedPolicy(predictor, batcher);
            PolicyLog.BundleLoaded(
                logger, predictor.BundleId, predictor.Mode.ToWire(), predictor.Manifest.Encoder.Name, path,
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var policy in _policies.Values)
        {
            await policy.Batcher.DisposeAsync();
            policy.Predictor.Dispose();
        }

        _policies.Clear();
    }
}
