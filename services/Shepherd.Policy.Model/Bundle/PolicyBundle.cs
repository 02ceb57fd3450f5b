using System.Reflection;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Network;

namespace Shepherd.Policy.Model.Bundle;

/// <summary>A bundle that cannot be used: missing, unreadable or inconsistent. The message names the path.</summary>
public sealed class PolicyBundleException(string path, string reason, Exception? inner = null)
    : Exception($"Policy bundle '{path}': {reason}", inner)
{
    public string BundlePath { get; } = path;
}

/// <summary>The exported ONNX heads do not reproduce the C# forward pass; nothing was written.</summary>
public sealed class OnnxParityException(double maxAbsDifference, double tolerance)
    : Exception($"heads.onnx differs from the C# forward pass by {maxAbsDifference:G4} (max abs), tolerance {tolerance:G4}; export aborted.")
{
    public double MaxAbsDifference { get; } = maxAbsDifference;
}

/// <summary>Inputs on which the exported heads must match the C# forward pass: embeddings [N, D] and raw features.</summary>
public sealed record ParityInputs(float[] Embeddings, IReadOnlyList<double[]> RawFeatures);

/// <summary>
/// A trained policy: a directory with policy.json (the manifest), heads.onnx (the two heads and the feature
/// MLP) and, when the encoder is not the packaged default, encoder/ with its model and vocabulary.
/// </summary>
public sealed class PolicyBundle
{
    public const string ManifestFileName = "policy.json";
    public const string HeadsFileName = "heads.onnx";
    public const string EncoderDirectoryName = "encoder";

    /// <summary>The export must reproduce the C# forward pass to better than this (max abs, logit and r̂).</summary>
    public const double ParityTolerance = 1e-5;

    public PolicyBundle(PolicyManifest manifest, PolicyNetwork network)
    {
        Manifest = manifest;
        Network = network;
        if (network.Architecture.EmbeddingDim != manifest.EmbeddingDim || network.Architecture.FeatureCount != manifest.Features.Count)
        {
            throw new ArgumentException("The network's input widths disagree with the manifest.");
        }
    }

    public PolicyManifest Manifest { get; }

    public PolicyNetwork Network { get; }

    public static HeadsArchitecture ArchitectureOf(PolicyManifest manifest) => new()
    {
        EmbeddingDim = manifest.EmbeddingDim,
        FeatureCount = manifest.Features.Count,
        FeatureHidden = manifest.Heads.FeatureHidden,
        HintHidden = manifest.Heads.HintHidden,
        SizeHidden = manifest.Heads.SizeHidden,
        Dropout = manifest.Heads.Dropout,
        DropoutSamples = Math.Max(1, manifest.Heads.DropoutSamples),
    };

    /// <summary>z = (x − mean) / std per feature, in manifest order.</summary>
    public double[] Standardise(IReadOnlyList<double> raw)
    {
        var features = Manifest.Features;
        var z = new double[features.Count];
        for (var i = 0; i < z.Length; i++)
        {
            z[i] = (raw[i] - features[i].Mean) / features[i].Std;
        }

        return z;
    }

    /// <summary>The C# forward pass on raw features (standardised here), no dropout.</summary>
    public HeadOutput Forward(ReadOnlySpan<float> embedding, IReadOnlyList<double> rawFeatures) =>
        Network.Forward(embedding, Standardise(rawFeatures));

    /// <summary>Reads and checks a bundle directory. Throws <see cref="PolicyBundleException"/> naming the path.</summary>
    public static PolicyBundle Load(string directory)
    {
        var manifest = ReadManifest(directory);
        var headsPath = Path.Combine(directory, manifest.Heads.File);
        if (!File.Exists(headsPath))
        {
            throw new PolicyBundleException(directory, $"the heads file '{headsPath}' is missing.");
        }

        try
        {
            var network = HeadsOnnx.Import(File.ReadAllBytes(headsPath), ArchitectureOf(manifest));
            return new PolicyBundle(manifest, network);
        }
        catch (Exception ex) when (ex is InvalidDataException or Google.Protobuf.InvalidProtocolBufferException or ArgumentException)
        {
            throw new PolicyBundleException(directory, $"'{headsPath}' is not a valid heads model: {ex.Message}", ex);
        }
    }

    /// <summary>Reads and checks policy.json only.</summary>
    public static PolicyManifest ReadManifest(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new PolicyBundleException(directory, "the directory does not exist.");
        }

        var path = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(path))
        {
            throw new PolicyBundleException(directory, $"'{path}' is missing.");
        }

        PolicyManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<PolicyManifest>(File.ReadAllText(path), PolicyJson.Options);
        }
        catch (JsonException ex)
        {
            throw new PolicyBundleException(directory, $"'{path}' is not a valid manifest: {ex.Message}", ex);
        }

        if (manifest is null)
        {
            throw new PolicyBundleException(directory, $"'{path}' is empty.");
        }

        if (Check(manifest) is { } reason)
        {
            throw new PolicyBundleException(directory, $"'{path}': {reason}.");
        }

        return manifest;
    }

    /// <summary>
    /// Rewrites α and η_hint in an existing bundle's policy.json (what calibration does, without retraining).
    /// Returns the updated manifest.
    /// </summary>
    public static PolicyManifest WriteThresholds(string directory, double alpha, int etaHint)
    {
        Core.Policy.PolicyDecisionRule.ValidateThresholds(alpha, etaHint);
        var manifest = ReadManifest(directory) with { Alpha = alpha, EtaHint = etaHint };
        var path = Path.Combine(directory, ManifestFileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(manifest, PolicyJson.Options) + "\n");
        File.Move(temporary, path, overwrite: true);
        return manifest;
    }

    /// <summary>
    /// Writes the bundle into <paramref name="directory"/> (created if needed) after checking that heads.onnx
    /// reproduces the C# forward pass on <paramref name="parity"/>; returns the max abs difference.
    /// A non-default encoder's files are copied into encoder/; its relative paths resolve against
    /// <paramref name="encoderBaseDirectory"/>.
    /// </summary>
    public double Save(string directory, ParityInputs parity, string? encoderBaseDirectory = null)
    {
        var onnx = HeadsOnnx.Export(Network, Manifest.Features, ProducerVersion);
        var difference = ParityDifference(onnx, parity);
        if (!(difference < ParityTolerance))
        {
            throw new OnnxParityException(difference, ParityTolerance);
        }

        Directory.CreateDirectory(directory);
        var encoder = CopyEncoderFiles(Manifest.Encoder, directory, encoderBaseDirectory);
        var manifest = Manifest with
        {
            Encoder = encoder,
            Heads = Manifest.Heads with { File = HeadsFileName, OnnxOpset = HeadsOnnx.Opset },
            Training = Manifest.Training with { OnnxParityMaxAbs = difference },
        };
        File.WriteAllBytes(Path.Combine(directory, HeadsFileName), onnx);
        File.WriteAllText(Path.Combine(directory, ManifestFileName), JsonSerializer.Serialize(manifest, PolicyJson.Options) + "\n");
        return difference;
    }

    /// <summary>Max abs difference of hint_logit and raw_size between the ONNX heads and the C# forward.</summary>
    public double ParityDifference(byte[] onnx, ParityInputs parity)
    {
        var rows = parity.RawFeatures.Count;
        if (rows == 0)
        {
            throw new ArgumentException("Parity needs at least one example.", nameof(parity));
        }

        using var heads = new HeadsSession(onnx, Manifest.EmbeddingDim, Manifest.Features.Count, threads: 1);
        var features = new float[rows * Manifest.Features.Count];
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < Manifest.Features.Count; f++)
            {
                features[r * Manifest.Features.Count + f] = (float)parity.RawFeatures[r][f];
            }
        }

        var (logits, sizes) = heads.Run(parity.Embeddings, features, rows);
        var max = 0.0;
        for (var r = 0; r < rows; r++)
        {
            // The ONNX graph sees float features; give the C# pass the same values.
            var raw = parity.RawFeatures[r].Select(v => (double)(float)v).ToArray();
            var expected = Forward(parity.Embeddings.AsSpan(r * Manifest.EmbeddingDim, Manifest.EmbeddingDim), raw);
            max = Math.Max(max, Math.Abs(expected.HintLogit - logits[r]));
            max = Math.Max(max, Math.Abs(expected.RawSize - sizes[r]));
            if (double.IsNaN(logits[r]) || double.IsNaN(sizes[r]))
            {
                return double.NaN;
            }
        }

        return max;
    }

    private static string ProducerVersion =>
        typeof(PolicyBundle).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    private static EncoderSpec CopyEncoderFiles(EncoderSpec spec, string directory, string? baseDirectory)
    {
        if (spec.IsPackagedModel && spec.IsPackagedVocabulary)
        {
            return spec;
        }

        var target = Path.Combine(directory, EncoderDirectoryName);
        Directory.CreateDirectory(target);
        string Copy(string path)
        {
            var source = OnnxTextEncoder.Resolve(path, baseDirectory);
            var name = Path.GetFileName(source);
            var destination = Path.Combine(target, name);
            if (!string.Equals(Path.GetFullPath(source), Path.GetFullPath(destination), StringComparison.Ordinal))
            {
                File.Copy(source, destination, overwrite: true);
            }

            return EncoderDirectoryName + "/" + name;
        }

        return spec with
        {
            Model = spec.IsPackagedModel ? spec.Model : Copy(spec.Model),
            Vocabulary = spec.IsPackagedVocabulary ? spec.Vocabulary : Copy(spec.Vocabulary),
        };
    }

    private static string? Check(PolicyManifest m)
    {
        if (m.SchemaVersion != PolicyManifest.CurrentSchemaVersion)
        {
            return $"schema_version {m.SchemaVersion} is not supported (expected {PolicyManifest.CurrentSchemaVersion})";
        }

        if (!Enum.IsDefined(m.Mode))
        {
            return "mode must be proactive or reactive";
        }

        if (m.Encoder is null)
        {
            return "encoder is missing";
        }

        if (m.Encoder.Validate() is { } encoder)
        {
            return encoder;
        }

        if (m.EmbeddingDim <= 0)
        {
            return "embedding_dim must be positive";
        }

        if (m.Heads is null || m.Features is null)
        {
            return "heads and features are required";
        }

        foreach (var f in m.Features)
        {
            if (string.IsNullOrWhiteSpace(f.Name) || !double.IsFinite(f.Mean) || !(f.Std > 0) || !double.IsFinite(f.Std))
            {
                return $"feature '{f.Name}' needs a name, a finite mean and a positive std";
            }
        }

        if (m.Features.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count() != m.Features.Count)
        {
            return "feature names must be unique";
        }

        if (!Core.Policy.PolicyDecisionRule.IsValidAlpha(m.Alpha) || m.EtaHint < 0 || m.NMax < 0)
        {
            return "alpha must be in [0, 1], eta_hint and n_max non-negative";
        }

        return null;
    }
}

/// <summary>An OnnxRuntime session over heads.onnx.</summary>
internal sealed class HeadsSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _embeddingDim;
    private readonly int _featureCount;
    private readonly bool _hasFeatures;

    public HeadsSession(byte[] onnx, int embeddingDim, int featureCount, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        _session = new InferenceSession(onnx, options);
        _embeddingDim = embeddingDim;
        _featureCount = featureCount;
        _hasFeatures = _session.InputMetadata.ContainsKey(HeadsOnnx.FeaturesInput);
    }

    public (float[] Logits, float[] Sizes) Run(float[] embeddings, float[] features, int rows)
    {
        var names = new List<string> { HeadsOnnx.EmbeddingInput };
        var values = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(embeddings, [rows, _embeddingDim]),
        };
        try
        {
            if (_hasFeatures)
            {
                names.Add(HeadsOnnx.FeaturesInput);
                values.Add(OrtValue.CreateTensorValueFromMemory(features, [rows, _featureCount]));
            }

            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, names, values, [HeadsOnnx.HintLogitOutput, HeadsOnnx.RawSizeOutput]);
            return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    public void Dispose() => _session.Dispose();
}
