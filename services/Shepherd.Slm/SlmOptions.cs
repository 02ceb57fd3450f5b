using System.ComponentModel.DataAnnotations;

namespace Shepherd.Slm;

/// <summary>Configuration section "Slm". Every bound here is what the service validates requests against.</summary>
public sealed class SlmOptions
{
    public const string SectionName = "Slm";

    /// <summary>Path of the GGUF model. Relative paths resolve against the working directory.</summary>
    [Required]
    public string ModelPath { get; set; } = "";

    /// <summary>Maximum tokens of one sequence (prompt + hint + generation). 0 means the model's training context, capped at 4096.</summary>
    [Range(0, 131072)]
    public int ContextSize { get; set; }

    /// <summary>Sequences decoded at once across all requests (continuous batching). A request with n samples holds n.</summary>
    [Range(1, 64)]
    public int MaxSequences { get; set; } = 16;

    /// <summary>Requests waiting for a sequence slot. Beyond this the service answers RESOURCE_EXHAUSTED at once.</summary>
    [Range(0, 10000)]
    public int MaxQueue { get; set; } = 64;

    /// <summary>
    /// Tokens decoded in one step (llama.cpp n_batch = n_ubatch): one per decoding sequence, the rest prompt chunks.
    /// Long prompts are prefilled in chunks of (BatchTokens − MaxSequences), so decoding never stalls behind them.
    /// Must exceed MaxSequences.
    /// </summary>
    [Range(16, 65536)]
    public int BatchTokens { get; set; } = 512;

    /// <summary>
    /// false (default): a KV stream per sequence, each of ContextSize cells, so a token attends only over its own
    /// sequence (what makes many concurrent long prompts affordable); samples of one prompt copy its stream.
    /// true: one buffer shared by all sequences (KvCacheSize cells; samples share the prompt's cells without copying,
    /// but every token attends over every sequence's cells).
    /// </summary>
    public bool KvUnified { get; set; }

    /// <summary>Total KV-cache cells (unified buffer only; with streams it is ContextSize × sequences) shared by all sequences. 0 means ContextSize × MaxSequences, capped at 65536.</summary>
    [Range(0, 1048576)]
    public int KvCacheSize { get; set; }

    /// <summary>CPU threads for decoding. 0 means the number of cores.</summary>
    [Range(0, 256)]
    public int Threads { get; set; }

    /// <summary>Layers offloaded to the GPU in CUDA builds; ignored by the CPU backend.</summary>
    [Range(0, 1000)]
    public int GpuLayerCount { get; set; }

    /// <summary>max_tokens used when a request leaves it 0.</summary>
    [Range(1, 4096)]
    public int DefaultMaxTokens { get; set; } = 256;

    /// <summary>
    /// Prompts kept prefilled for reuse: a new request that shares at least <see cref="PrefixCacheMinTokens"/> leading
    /// tokens with one (a few-shot prompt, the same question with a hint) forks it and prefills only the rest.
    /// Each entry holds a sequence id and its prompt's KV cells. Off (0) by default: a prefill split at another point
    /// runs other kernel shapes, so logits agree only to float rounding and a seeded sample can differ with the
    /// cache's history; turn it on where throughput matters more than bit-for-bit reproducible samples.
    /// </summary>
    [Range(0, 64)]
    public int PrefixCacheEntries { get; set; }

    [Range(1, 100_000)]
    public int PrefixCacheMinTokens { get; set; } = 32;

    /// <summary>Largest accepted prompt (all messages and the hint), in characters, checked before tokenizing.</summary>
    [Range(1, 10_000_000)]
    public int MaxInputChars { get; set; } = 200_000;
}
