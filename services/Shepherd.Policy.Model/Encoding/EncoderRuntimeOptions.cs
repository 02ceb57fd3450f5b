using System.Text.Json.Serialization;
using Microsoft.ML.OnnxRuntime;

namespace Shepherd.Policy.Model.Encoding;

/// <summary>OnnxRuntime's graph optimisation levels, by the names configuration uses.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EncoderGraphOptimization>))]
public enum EncoderGraphOptimization
{
    [JsonStringEnumMemberName("none")]
    None,

    [JsonStringEnumMemberName("basic")]
    Basic,

    [JsonStringEnumMemberName("extended")]
    Extended,

    [JsonStringEnumMemberName("all")]
    All,
}

/// <summary>Where the encoder runs: OnnxRuntime's CPU provider, or CUDA (the Microsoft.ML.OnnxRuntime.Gpu build).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EncoderExecutionProvider>))]
public enum EncoderExecutionProvider
{
    [JsonStringEnumMemberName("cpu")]
    Cpu,

    [JsonStringEnumMemberName("cuda")]
    Cuda,
}

/// <summary>
/// How the encoder's OnnxRuntime session runs. The defaults are for a process that shares its cores (a gRPC
/// server, the CLI next to other work): docs/policy.md, "Session options", gives the measurements behind them.
/// </summary>
public sealed record EncoderRuntimeOptions
{
    /// <summary>
    /// Intra-op threads; 0 = automatic: every core for an encoder that runs texts in batches (float32), one for an
    /// int8 encoder, which runs each text alone (<see cref="OnnxTextEncoder.RunsAlone"/>): one short sequence gains
    /// nothing from a second thread but its wake-ups, and the other core stays with the server and its neighbours
    /// (docs/policy.md, "Session options").
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// These options with <see cref="IntraOpThreads"/> 0 resolved for the encoder they run, always to an explicit
    /// count: OnnxRuntime's own 0 ("physical cores") gave one thread on a 2-core VM, which halved float32 batch
    /// throughput. <see cref="Environment.ProcessorCount"/> honours a container's CPU limit.
    /// </summary>
    public EncoderRuntimeOptions For(EncoderSpec spec) => IntraOpThreads != 0
        ? this
        : this with { IntraOpThreads = OnnxTextEncoder.RunsTextsAlone(spec) ? 1 : Environment.ProcessorCount };

    /// <summary>
    /// Let idle intra-op threads spin (session.intra_op.allow_spinning). Spinning saves a wake-up per parallel
    /// section but burns the core the server's and the client's threads need between runs; off by default.
    /// </summary>
    public bool AllowSpinning { get; init; }

    public EncoderGraphOptimization GraphOptimization { get; init; } = EncoderGraphOptimization.All;

    /// <summary>OnnxRuntime's CPU memory arena (reuses activation buffers between runs).</summary>
    public bool MemoryArena { get; init; } = true;

    public EncoderExecutionProvider ExecutionProvider { get; init; } = EncoderExecutionProvider.Cpu;

    public int CudaDeviceId { get; init; }

    /// <summary>Texts per encoder run when encoding long lists (training, PredictBatch).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Null when usable, else the reason.</summary>
    public string? Validate() => IntraOpThreads < 0
        ? "intra-op threads must be >= 0"
        : BatchSize < 1 ? "the encoder batch size must be at least 1" : null;

    /// <summary>The session options these settings describe; the caller disposes them.</summary>
    public SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimization switch
            {
                EncoderGraphOptimization.None => GraphOptimizationLevel.ORT_DISABLE_ALL,
                EncoderGraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                EncoderGraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = IntraOpThreads,
            EnableCpuMemArena = MemoryArena,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", AllowSpinning ? "1" : "0");
        if (ExecutionProvider == EncoderExecutionProvider.Cuda)
        {
            // Checked by the caller with TryCuda first: here CUDA is known to be there.
            options.AppendExecutionProvider_CUDA(CudaDeviceId);
        }

        return options;
    }

    /// <summary>
    /// Whether this process can run on CUDA: null when it can, else why not (the CPU build of OnnxRuntime has no CUDA
    /// provider; the GPU build needs the CUDA and cuDNN libraries and a device).
    /// </summary>
    public static string? TryCuda(int deviceId)
    {
        try
        {
            using var probe = new SessionOptions();
            probe.AppendExecutionProvider_CUDA(deviceId);
            return null;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException or TypeInitializationException)
        {
            return ex.Message.Split('\n')[0];
        }
    }

    public override string ToString() =>
        $"threads {(IntraOpThreads == 0 ? "auto" : IntraOpThreads.ToString(System.Globalization.CultureInfo.InvariantCulture))}, " +
        $"spinning {(AllowSpinning ? "on" : "off")}, graph {GraphOptimization.ToString().ToLowerInvariant()}, arena {(MemoryArena ? "on" : "off")}, " +
        $"provider {ExecutionProvider.ToString().ToLowerInvariant()}";
}
