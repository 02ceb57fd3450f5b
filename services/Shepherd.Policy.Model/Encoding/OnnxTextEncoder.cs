using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Shepherd.Policy.Model.Encoding;

/// <summary>
/// A frozen ONNX sentence encoder: tokenize (WordPiece or SentencePiece), run the transformer, pool (mean or
/// CLS), optionally L2-normalise. Inputs are found by name: input_ids, attention_mask and, if the model has
/// it, token_type_ids.
/// </summary>
public sealed class OnnxTextEncoder : ITextEncoder
{
    private readonly InferenceSession _session;
    private readonly EncoderTokenizer _tokenizer;
    private readonly EncoderRuntimeOptions _options;
    private readonly string _idsName;
    private readonly string? _maskName;
    private readonly string? _typesName;
    private readonly bool _int32Inputs;
    private readonly string _outputName;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    // Read-only during runs, so one instance serves every call (OnnxRuntime allows concurrent Run with it).
    private readonly RunOptions _runOptions = new();

    private OnnxTextEncoder(EncoderSpec spec, InferenceSession session, EncoderTokenizer tokenizer, EncoderRuntimeOptions options)
    {
        Spec = spec;
        _session = session;
        _tokenizer = tokenizer;
        _options = options;

        var inputs = session.InputMetadata;
        _idsName = inputs.Keys.FirstOrDefault(k => k.Contains("input_ids", StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException($"The encoder model has no input_ids input (inputs: {string.Join(", ", inputs.Keys)}).");
        _maskName = inputs.Keys.FirstOrDefault(k => k.Contains("attention_mask", StringComparison.OrdinalIgnoreCase));
        _typesName = inputs.Keys.FirstOrDefault(k => k.Contains("token_type", StringComparison.OrdinalIgnoreCase));
        _int32Inputs = inputs[_idsName].ElementDataType == TensorElementType.Int32;
        _outputName = spec.OutputName ?? session.OutputMetadata.Keys.First();
        if (!session.OutputMetadata.TryGetValue(_outputName, out var output))
        {
            throw new InvalidOperationException($"The encoder model has no output '{_outputName}'.");
        }

        _inputNames = new[] { _idsName, _maskName, _typesName }.OfType<string>().ToArray();
        _outputNames = [_outputName];
        var dim = output.Dimensions[^1];
        Dimension = dim > 0 ? dim : ProbeDimension();
    }

    public EncoderSpec Spec { get; }

    public int Dimension { get; }

    /// <summary>Loads the encoder a spec names; relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    public static OnnxTextEncoder Create(EncoderSpec spec, string? baseDirectory = null, EncoderRuntimeOptions? options = null)
    {
        if (spec.Validate() is { } reason)
        {
            throw new ArgumentException($"Invalid encoder spec: {reason}.", nameof(spec));
        }

        options ??= new EncoderRuntimeOptions();
        if (options.Validate() is { } invalid)
        {
            throw new ArgumentException($"Invalid encoder runtime options: {invalid}.", nameof(options));
        }

        options = options.For(spec);

        EncoderTokenizer tokenizer;
        using (var vocabulary = spec.IsPackagedVocabulary
                   ? PackagedMiniLm.OpenVocabulary()
                   : File.OpenRead(Resolve(spec.Vocabulary, baseDirectory)))
        {
            tokenizer = EncoderTokenizer.Create(spec.Tokenizer, vocabulary, spec.LowerCase);
        }

        using var sessionOptions = options.CreateSessionOptions();
        InferenceSession session;
        if (spec.IsPackagedModel || spec.Quantization != EncoderQuantization.None)
        {
            var model = spec.IsPackagedModel ? PackagedMiniLm.ReadModel() : File.ReadAllBytes(Resolve(spec.Model, baseDirectory));
            if (spec.Quantization == EncoderQuantization.DynamicInt8)
            {
                model = EncoderQuantizer.QuantizeDynamicInt8(model, out _);
            }

            session = new InferenceSession(model, sessionOptions);
        }
        else
        {
            // By path, so models with external data files (large DeBERTa exports) load too.
            session = new InferenceSession(Resolve(spec.Model, baseDirectory), sessionOptions);
        }

        try
        {
            return new OnnxTextEncoder(spec, session, tokenizer, options);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>A spec path made absolute against the bundle directory.</summary>
    public static string Resolve(string path, string? baseDirectory) =>
        Path.IsPathRooted(path) || baseDirectory is null ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));

    public int CountTokens(string text) => _tokenizer.Body(text).Count;

    public EncodedBatch Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        var count = texts.Count;
        var vectors = new float[count * Dimension];
        var counts = new int[count];
        var ids = new int[count][];
        for (var i = 0; i < count; i++)
        {
            var body = _tokenizer.Body(texts[i]);
            counts[i] = body.Count;
            ids[i] = _tokenizer.ModelIds(body, Spec.MaxLength);
        }

        // Similar lengths together: less padding per run. The output keeps the input order.
        var order = Enumerable.Range(0, count).OrderBy(i => ids[i].Length).ThenBy(i => i).ToArray();
        var batchSize = RunsAlone ? 1 : Math.Max(1, _options.BatchSize);
        for (var start = 0; start < count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = order.AsSpan(start, Math.Min(batchSize, count - start)).ToArray();
            Run(chunk, ids, vectors);
        }

        return new EncodedBatch(vectors, counts, Dimension);
    }

    /// <summary>
    /// Whether each text runs through the model alone. Dynamic int8 quantizes activations with one scale per tensor,
    /// computed at run time from the whole batch (padding included), so in a shared run a text's embedding, and with
    /// it P(hint) and n, would depend on its batch-mates: the service's micro-batches, replay's chunks. Alone, a text
    /// always gets the same embedding. On CPU this costs int8 nothing: one text a run is as fast as batches of 32
    /// (PolicyBenchmarkTests).
    /// </summary>
    public bool RunsAlone => RunsTextsAlone(Spec);

    /// <summary>Whether an encoder of this spec runs each text alone (<see cref="RunsAlone"/>).</summary>
    public static bool RunsTextsAlone(EncoderSpec spec) => spec.Quantization == EncoderQuantization.DynamicInt8;

    /// <summary>The session settings this encoder runs with.</summary>
    public EncoderRuntimeOptions Runtime => _options;

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    private void Run(int[] rows, int[][] ids, float[] vectors)
    {
        var batch = rows.Length;
        var length = rows.Max(r => ids[r].Length);
        var idData = new long[batch * length];
        var maskData = new long[batch * length];
        for (var b = 0; b < batch; b++)
        {
            var row = ids[rows[b]];
            for (var t = 0; t < length; t++)
            {
                var inside = t < row.Length;
                idData[b * length + t] = inside ? row[t] : _tokenizer.PadId;
                maskData[b * length + t] = inside ? 1 : 0;
            }
        }

        long[] shape = [batch, length];
        var values = new OrtValue[_inputNames.Length];
        try
        {
            values[0] = Tensor(idData, shape);
            var next = 1;
            if (_maskName is not null)
            {
                values[next++] = Tensor(maskData, shape);
            }

            if (_typesName is not null)
            {
                values[next] = Tensor(new long[batch * length], shape);
            }

            using var outputs = _session.Run(_runOptions, _inputNames, values, _outputNames);
            var output = outputs[0];
            var outShape = output.GetTensorTypeAndShape().Shape;
            var data = output.GetTensorDataAsSpan<float>();
            for (var b = 0; b < batch; b++)
            {
                var target = vectors.AsSpan(rows[b] * Dimension, Dimension);
                if (outShape.Length == 2)
                {
                    data.Slice(b * Dimension, Dimension).CopyTo(target);
                }
                else
                {
                    Pool(data, b, length, maskData, target);
                }

                if (Spec.Normalize)
                {
                    NormalizeInPlace(target);
                }
            }
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
    }

    private OrtValue Tensor(long[] data, long[] shape) => _int32Inputs
        ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(data, v => (int)v), shape)
        : OrtValue.CreateTensorValueFromMemory(data, shape);

    private void Pool(ReadOnlySpan<float> states, int b, int length, long[] mask, Span<float> target)
    {
        var dim = Dimension;
        var tokenBase = b * length * dim;
        if (Spec.Pooling == EncoderPooling.Cls)
        {
            states.Slice(tokenBase, dim).CopyTo(target);
            return;
        }

        target.Clear();
        var used = 0;
        for (var t = 0; t < length; t++)
        {
            if (mask[b * length + t] == 0)
            {
                continue;
            }

            used++;
            var token = states.Slice(tokenBase + t * dim, dim);
            for (var d = 0; d < dim; d++)
            {
                target[d] += token[d];
            }
        }

        var scale = 1f / Math.Max(used, 1);
        for (var d = 0; d < dim; d++)
        {
            target[d] *= scale;
        }
    }

    private static void NormalizeInPlace(Span<float> vector)
    {
        double sum = 0;
        foreach (var v in vector)
        {
            sum += (double)v * v;
        }

        var norm = (float)Math.Sqrt(sum);
        if (norm < 1e-12f)
        {
            return;
        }

        for (var d = 0; d < vector.Length; d++)
        {
            vector[d] /= norm;
        }
    }

    private int ProbeDimension()
    {
        // Dynamic output width: run one tiny input once to learn it.
        var ids = _tokenizer.ModelIds([], 2);
        long[] shape = [1, ids.Length];
        var names = new List<string> { _idsName };
        var values = new List<OrtValue> { Tensor(Array.ConvertAll(ids, i => (long)i), shape) };
        if (_maskName is not null)
        {
            names.Add(_maskName);
            values.Add(Tensor([1, 1], shape));
        }

        if (_typesName is not null)
        {
            names.Add(_typesName);
            values.Add(Tensor([0, 0], shape));
        }

        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, names, values, [_outputName]);
        foreach (var value in values)
        {
            value.Dispose();
        }

        return (int)outputs[0].GetTensorTypeAndShape().Shape[^1];
    }
}
