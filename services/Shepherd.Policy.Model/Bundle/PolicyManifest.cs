using System.Text.Json.Serialization;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy.Model.Bundle;

[JsonConverter(typeof(JsonStringEnumConverter<FeatureSource>))]
public enum FeatureSource
{
    /// <summary>The caller sends the value (PredictRequest.features).</summary>
    [JsonStringEnumMemberName("request")]
    Request,

    /// <summary>The predictor counts the query's tokens with the encoder's tokenizer (|q|); a sent value is ignored.</summary>
    [JsonStringEnumMemberName("query_tokens")]
    QueryTokens,
}

/// <summary>A numeric feature and its standardisation, z = (x − mean) / std, with statistics from the training split.</summary>
public sealed record FeatureSpec(string Name, double Mean, double Std, FeatureSource Source);

/// <summary>The heads' shape and file, as exported.</summary>
public sealed record HeadsSpec
{
    public string File { get; init; } = PolicyBundle.HeadsFileName;

    public IReadOnlyList<int> FeatureHidden { get; init; } = [];

    public IReadOnlyList<int> HintHidden { get; init; } = [];

    public IReadOnlyList<int> SizeHidden { get; init; } = [];

    public string Activation { get; init; } = "relu";

    public double Dropout { get; init; }

    public int DropoutSamples { get; init; }

    public int OnnxOpset { get; init; } = HeadsOnnx.Opset;
}

/// <summary>How the bundle was trained.</summary>
public sealed record TrainingInfo
{
    public int Labels { get; init; }

    public int TrainCount { get; init; }

    public int ValidationCount { get; init; }

    public double TrainPositiveRate { get; init; }

    public int Seed { get; init; }

    public int Epochs { get; init; }

    public int BestEpoch { get; init; }

    public double Lambda { get; init; }

    public double LearningRate { get; init; }

    public double WeightDecay { get; init; }

    public double EmaDecay { get; init; }

    public int BatchSize { get; init; }

    public double OnnxParityMaxAbs { get; init; }
}

/// <summary>policy.json: everything needed to use and to audit a bundle.</summary>
public sealed record PolicyManifest
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required string BundleId { get; init; }

    public required PolicyMode Mode { get; init; }

    public required EncoderSpec Encoder { get; init; }

    public required int EmbeddingDim { get; init; }

    /// <summary>In model input order.</summary>
    public required IReadOnlyList<FeatureSpec> Features { get; init; }

    public required HeadsSpec Heads { get; init; }

    /// <summary>α: P(hint) below it → no hint. Calibration may rewrite it.</summary>
    public required double Alpha { get; init; }

    /// <summary>η_hint: a decided n above it routes to the LLM. Calibration may rewrite it.</summary>
    public required int EtaHint { get; init; }

    /// <summary>N_max: the clip of the decided n.</summary>
    public required int NMax { get; init; }

    /// <summary>sha256 (hex) of the label file (or of its canonical JSONL when trained from records).</summary>
    public required string TrainingDataSha256 { get; init; }

    public TrainingInfo Training { get; init; } = new();

    /// <summary>train_auc, val_auc, train_mae_n, val_mae_n, val_mae_n_mean_baseline, val_loss...</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    public required DateTimeOffset CreatedAt { get; init; }
}
