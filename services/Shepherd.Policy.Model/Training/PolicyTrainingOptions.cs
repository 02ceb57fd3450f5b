using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy.Model.Training;

/// <summary>
/// Everything the trainer can be told. Defaults follow paper.md ("The two-stage predictor"); sizes are ours
/// (the paper does not give its head widths).
/// </summary>
public sealed record PolicyTrainingOptions
{
    public PolicyMode Mode { get; init; } = PolicyMode.Proactive;

    /// <summary>
    /// The packaged MiniLM quantized to int8: on the same generated labels it scores within
    /// <see cref="PolicyQuality.MaxInt8AucLoss"/> AUC of float32 at 2–4× its speed (docs/policy.md, "Encoder choice";
    /// EncoderChoiceTests keeps the choice honest). Each text runs through it alone, so a query's embedding never
    /// depends on its batch-mates (<see cref="OnnxTextEncoder.RunsAlone"/>) and replay equals live.
    /// </summary>
    public EncoderSpec Encoder { get; init; } = EncoderSpec.Default with { Quantization = EncoderQuantization.DynamicInt8 };

    /// <summary>Where a non-default encoder's relative paths resolve.</summary>
    public string? EncoderBaseDirectory { get; init; }

    public EncoderRuntimeOptions EncoderRuntime { get; init; } = new();

    /// <summary>The numeric features, in input order; null = <see cref="PolicyFeatureNames.For"/> the mode.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    public IReadOnlyList<int> FeatureHidden { get; init; } = [16];

    public IReadOnlyList<int> HintHidden { get; init; } = [64];

    public IReadOnlyList<int> SizeHidden { get; init; } = [64];

    public double Dropout { get; init; } = 0.2;

    public int DropoutSamples { get; init; } = 5;

    /// <summary>λ in L = λ·BCE + (1 − λ)·SmoothL1.</summary>
    public double Lambda { get; init; } = 0.5;

    public double SmoothL1Beta { get; init; } = 1.0;

    public double LearningRate { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 0.01;

    public double EmaDecay { get; init; } = 0.99;

    public int BatchSize { get; init; } = 64;

    public int MaxEpochs { get; init; } = 100;

    /// <summary>
    /// Train even when every train label has the same class. The hint head then learns a constant and its AUC is
    /// undefined; only `shepherd reproduce` on stand-in models, whose labels are all "no hint sufficed", asks for it.
    /// </summary>
    public bool AllowSingleClass { get; init; }

    /// <summary>Early stopping: epochs without a lower validation loss (EMA weights) before stopping.</summary>
    public int Patience { get; init; } = 10;

    /// <summary>The one seed: initialisation, sampling, dropout and the fallback validation split.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Share of the train split held out when the labels have no validation split.</summary>
    public double ValidationFraction { get; init; } = 0.15;

    /// <summary>α written to the bundle (calibration can change it later).</summary>
    public double Alpha { get; init; } = 0.5;

    /// <summary>η_hint written to the bundle; null = N_max (never route until calibrated).</summary>
    public int? EtaHint { get; init; }

    /// <summary>N_max; null = the largest n* among the training positives.</summary>
    public int? NMax { get; init; }

    /// <summary>The label file's sha256 for the manifest; null = the sha256 of the records' canonical JSONL.</summary>
    public string? TrainingDataSha256 { get; init; }

    public IReadOnlyList<string> FeatureNames => Features ?? PolicyFeatureNames.For(Mode);

    public void Validate()
    {
        if (!PolicyDecisionRule.IsValidAlpha(Alpha) || EtaHint < 0 || NMax < 0)
        {
            throw new ArgumentException("α must be in [0, 1]; η_hint and N_max non-negative.");
        }

        if (Lambda is < 0 or > 1 || LearningRate <= 0 || BatchSize < 1 || MaxEpochs < 1 || Patience < 1
            || EmaDecay is < 0 or >= 1 || ValidationFraction is <= 0 or >= 1 || SmoothL1Beta <= 0)
        {
            throw new ArgumentException("Training hyper-parameters are out of range.");
        }

        if (FeatureNames.Distinct(StringComparer.Ordinal).Count() != FeatureNames.Count)
        {
            throw new ArgumentException("Feature names must be unique.");
        }
    }
}

public enum TrainStage
{
    Encoding,
    Training,
    Exporting,
    Done,
}

/// <summary>A progress report. Epoch fields are set in <see cref="TrainStage.Training"/>.</summary>
public sealed record TrainProgress(
    TrainStage Stage,
    string Message,
    int Epoch = 0,
    int MaxEpochs = 0,
    double TrainLoss = double.NaN,
    double ValidationLoss = double.NaN,
    double ValidationAuc = double.NaN,
    bool Improved = false);
