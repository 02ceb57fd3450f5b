using Microsoft.Extensions.Options;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy;

/// <summary>The "Policy" configuration section.</summary>
public sealed class PolicyServiceOptions
{
    public const string Section = "Policy";

    /// <summary>The default bundle directory (policy.json + heads.onnx), as written by <c>shepherd train --out</c>.</summary>
    public string BundlePath { get; set; } = string.Empty;

    /// <summary>More bundles, one per other mode (e.g. the reactive one next to a proactive default).</summary>
    public List<string> AdditionalBundlePaths { get; set; } = [];

    /// <summary>Most single Predict calls folded into one encoder run.</summary>
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// Longest wait for company before running a micro-batch, in milliseconds. Paid only under concurrent traffic:
    /// a lone caller's request runs at once. Not paid at all with an int8 encoder, which runs each text alone.
    /// </summary>
    public double MaxWaitMs { get; set; } = 2;

    /// <summary>Queued single Predict calls beyond this get RESOURCE_EXHAUSTED.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Most requests in one PredictBatch call.</summary>
    public int MaxBatchRequests { get; set; } = 4096;

    /// <summary>Encoder intra-op threads; 0 = every core.</summary>
    public int EncoderThreads { get; set; }

    /// <summary>
    /// OnnxRuntime's session.intra_op.allow_spinning. Off: a spinning intra-op thread holds a core that Kestrel and
    /// the callers need between runs (docs/policy.md, "Session options", has the measurements).
    /// </summary>
    public bool EncoderAllowSpinning { get; set; }

    /// <summary>Graph optimisation level: none, basic, extended or all.</summary>
    public EncoderGraphOptimization EncoderGraphOptimization { get; set; } = EncoderGraphOptimization.All;

    /// <summary>OnnxRuntime's CPU memory arena for the encoder.</summary>
    public bool EncoderMemoryArena { get; set; } = true;

    /// <summary>
    /// cpu, or cuda (the GPU image, built on Microsoft.ML.OnnxRuntime.Gpu): where CUDA is absent the service logs why
    /// and runs on the CPU instead of failing to start.
    /// </summary>
    public EncoderExecutionProvider ExecutionProvider { get; set; } = EncoderExecutionProvider.Cpu;

    public int CudaDeviceId { get; set; }

    /// <summary>The encoder session settings these options describe.</summary>
    public EncoderRuntimeOptions EncoderRuntime() => new()
    {
        ExecutionProvider = ExecutionProvider,
        CudaDeviceId = CudaDeviceId,
        IntraOpThreads = EncoderThreads,
        AllowSpinning = EncoderAllowSpinning,
        GraphOptimization = EncoderGraphOptimization,
        MemoryArena = EncoderMemoryArena,
        BatchSize = MaxBatchSize,
    };
}

/// <summary>Start-up checks: fail fast, naming the setting and the path.</summary>
public sealed class PolicyServiceOptionsValidator : IValidateOptions<PolicyServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, PolicyServiceOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BundlePath))
        {
            failures.Add($"{PolicyServiceOptions.Section}:BundlePath is not set: point it at a policy bundle directory (shepherd train --out DIR).");
        }
        else
        {
            CheckBundle(options.BundlePath, $"{PolicyServiceOptions.Section}:BundlePath", failures);
        }

        for (var i = 0; i < options.AdditionalBundlePaths.Count; i++)
        {
            CheckBundle(options.AdditionalBundlePaths[i], $"{PolicyServiceOptions.Section}:AdditionalBundlePaths:{i}", failures);
        }

        if (options.MaxBatchSize < 1 || options.QueueCapacity < 1 || options.MaxBatchRequests < 1)
        {
            failures.Add("Policy:MaxBatchSize, QueueCapacity and MaxBatchRequests must be at least 1.");
        }

        if (!(options.MaxWaitMs >= 0 && options.MaxWaitMs <= 1000))
        {
            failures.Add("Policy:MaxWaitMs must be in [0, 1000].");
        }

        if (options.EncoderThreads < 0)
        {
            failures.Add("Policy:EncoderThreads must be >= 0.");
        }

        if (!Enum.IsDefined(options.EncoderGraphOptimization))
        {
            failures.Add("Policy:EncoderGraphOptimization must be none, basic, extended or all.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckBundle(string path, string setting, List<string> failures)
    {
        if (!Directory.Exists(path))
        {
            failures.Add($"Policy bundle directory '{Path.GetFullPath(path)}' ({setting}) does not exist.");
        }
        else if (!File.Exists(Path.Combine(path, PolicyBundle.ManifestFileName)))
        {
            failures.Add($"Policy bundle '{Path.GetFullPath(path)}' ({setting}) has no {PolicyBundle.ManifestFileName}.");
        }
    }
}
