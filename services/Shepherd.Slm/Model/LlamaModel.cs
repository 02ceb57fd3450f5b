using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.Extensions.Options;

namespace Shepherd.Slm.Model;

/// <summary>
/// The GGUF weights, loaded once at start-up and shared by every request (as LLama.Web does).
/// A missing or corrupt file fails construction with a message that names the file and the problem.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private const uint GgufMagic = 0x46554747; // "GGUF" little-endian

    public LlamaModel(IOptions<SlmOptions> options, ILoggerFactory loggerFactory)
    {
        // llama.cpp logs through our logger (category "llama.cpp"), not straight to stderr.
        NativeLogConfig.llama_log_set(loggerFactory.CreateLogger("llama.cpp"));
        var o = options.Value;
        Path = System.IO.Path.GetFullPath(o.ModelPath);
        Validate(Path);

        var threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        var probe = new ModelParams(Path) { GpuLayerCount = o.GpuLayerCount };
        try
        {
            Weights = LLamaWeights.LoadFromFile(probe);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"SLM model '{Path}' could not be loaded by llama.cpp: {ex.Message}", ex);
        }

        TrainContext = checked((int)Weights.ContextSize);
        ContextSize = o.ContextSize > 0 ? o.ContextSize : Math.Min(TrainContext, 4096);
        MaxSequences = o.MaxSequences;
        PrefixCacheEntries = o.PrefixCacheEntries;
        PrefixCacheMinTokens = o.PrefixCacheMinTokens;
        KvUnified = o.KvUnified;
        // Per-sequence streams hold exactly one context each (llama.cpp gives every stream n_ctx / n_seq_max cells).
        KvCacheSize = !KvUnified
            ? ContextSize * (MaxSequences + PrefixCacheEntries)
            : o.KvCacheSize > 0 ? o.KvCacheSize : Math.Min(ContextSize * (MaxSequences + PrefixCacheEntries), 65536);
        if (KvCacheSize < ContextSize)
        {
            throw new InvalidOperationException($"Slm:KvCacheSize ({KvCacheSize}) is smaller than Slm:ContextSize ({ContextSize}).");
        }

        if (o.BatchTokens <= MaxSequences)
        {
            throw new InvalidOperationException($"Slm:BatchTokens ({o.BatchTokens}) must exceed Slm:MaxSequences ({MaxSequences}): each step holds one token per decoding sequence plus a prompt chunk.");
        }

        BatchTokens = o.BatchTokens;
        // Cached prefixes hold sequence ids of their own besides the decoding sequences.
        SequenceIds = MaxSequences + PrefixCacheEntries;
        ContextParams = new ModelParams(Path)
        {
            ContextSize = (uint)KvCacheSize,
            // One step is one ubatch: a batch never splits, so a step's cost and kernel shapes do not depend on where
            // llama.cpp would have cut it.
            BatchSize = (uint)BatchTokens,
            UBatchSize = (uint)BatchTokens,
            SeqMax = (uint)SequenceIds,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = o.GpuLayerCount,
            KVUnified = KvUnified,
        };
        Threads = threads;
        VocabSize = Weights.Vocab.Count;
        Name = Weights.Metadata.TryGetValue("general.name", out var name) && !string.IsNullOrWhiteSpace(name)
            ? name
            : System.IO.Path.GetFileNameWithoutExtension(Path);
        ChatTemplate = Weights.Metadata.TryGetValue("tokenizer.chat_template", out var template) && !string.IsNullOrWhiteSpace(template)
            ? template
            : null;
    }

    public string Path { get; }

    public string Name { get; }

    public LLamaWeights Weights { get; }

    public ModelParams ContextParams { get; }

    public int TrainContext { get; }

    /// <summary>Per-sequence token limit.</summary>
    public int ContextSize { get; }

    public int KvCacheSize { get; }

    public int MaxSequences { get; }

    /// <summary>
    /// One KV buffer for every sequence (true) or a stream per sequence (false, the default). In a unified buffer each
    /// token attends over the cells of every sequence in flight (masked), so a step's attention grows with the total
    /// context of all requests; streams keep it to the sequence's own context.
    /// </summary>
    public bool KvUnified { get; }

    /// <summary>Tokens decoded in one step (n_batch = n_ubatch).</summary>
    public int BatchTokens { get; }

    /// <summary>Sequence ids of the context: decoding sequences plus cached prefixes.</summary>
    public int SequenceIds { get; }

    public int PrefixCacheEntries { get; }

    public int PrefixCacheMinTokens { get; }

    public int Threads { get; }

    public int VocabSize { get; }

    public string? ChatTemplate { get; }

    public static string Backend =>
#if SLM_CUDA
        "cuda12";
#else
        "cpu";
#endif

    public LLamaToken[] Tokenize(string text, bool addBos, bool special) =>
        Weights.Tokenize(text, addBos, special, Encoding.UTF8);

    /// <summary>A token any model can decode alone (BOS, else the first token of "a").</summary>
    public LLamaToken ProbeToken => Weights.Vocab.BOS ?? Tokenize("a", addBos: false, special: false)[0];

    public bool IsEndOfGeneration(LLamaToken token) => token.IsEndOfGeneration(Weights.Vocab);

    public string Detokenize(ReadOnlySpan<int> tokens)
    {
        var decoder = new StreamingTokenDecoder(Encoding.UTF8, Weights);
        foreach (var t in tokens)
        {
            decoder.Add(t);
        }

        return decoder.Read();
    }

    public void Dispose() => Weights.Dispose();

    private static void Validate(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"SLM model file '{path}' does not exist. Set Slm:ModelPath (or SHEPHERD_SLM_MODEL).");
        }

        using var stream = File.OpenRead(path);
        Span<byte> header = stackalloc byte[8];
        if (stream.Read(header) < 8 || BitConverter.ToUInt32(header[..4]) != GgufMagic)
        {
            throw new InvalidOperationException($"SLM model file '{path}' is not a GGUF file (bad magic header); it is corrupt or of another format.");
        }
    }
}
