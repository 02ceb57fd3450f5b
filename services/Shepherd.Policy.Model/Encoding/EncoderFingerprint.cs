using System.Globalization;
using System.Security.Cryptography;

namespace Shepherd.Policy.Model.Encoding;

/// <summary>
/// What an encoder's embeddings depend on, hashed: the model and vocabulary bytes and every spec field that
/// changes the vectors (tokenizer, casing, pooling, length, normalisation, quantization, output). Two encoders
/// with the same fingerprint give the same embedding for the same text, so a cache may share them.
/// </summary>
public static class EncoderFingerprint
{
    /// <summary>
    /// Bumped when our own code changes embeddings (the int8 quantizer, pooling, tokenization, batching). 2: an int8
    /// encoder runs each text alone (<see cref="OnnxTextEncoder.RunsAlone"/>), so embeddings stored by version 1 came
    /// from shared runs.
    /// </summary>
    private const string CodeVersion = "shepherd-encoder-2";

    public static string Compute(EncoderSpec spec, string? baseDirectory = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var fields = string.Join(
            '\n',
            CodeVersion,
            spec.Tokenizer.ToString(),
            spec.LowerCase.ToString(CultureInfo.InvariantCulture),
            spec.Pooling.ToString(),
            spec.MaxLength.ToString(CultureInfo.InvariantCulture),
            spec.Normalize.ToString(CultureInfo.InvariantCulture),
            spec.Quantization.ToString(),
            spec.OutputName ?? string.Empty);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(fields));
        Append(hash, "model", spec.IsPackagedModel ? PackagedMiniLm.OpenModel() : File.OpenRead(OnnxTextEncoder.Resolve(spec.Model, baseDirectory)));
        Append(hash, "vocabulary", spec.IsPackagedVocabulary ? PackagedMiniLm.OpenVocabulary() : File.OpenRead(OnnxTextEncoder.Resolve(spec.Vocabulary, baseDirectory)));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Append(IncrementalHash hash, string part, Stream content)
    {
        using (content)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes("\n" + part + "\n"));
            var buffer = new byte[1 << 16];
            int read;
            while ((read = content.Read(buffer)) > 0)
            {
                hash.AppendData(buffer.AsSpan(0, read));
            }
        }
    }
}
