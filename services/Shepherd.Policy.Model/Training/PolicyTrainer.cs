using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Network;

namespace Shepherd.Policy.Model.Training;

/// <summary>The outcome of a training run, in the terms the CLI prints.</summary>
public sealed record TrainingSummary(
    PolicyMode Mode,
    int TrainCount,
    int ValidationCount,
    int Epochs,
    int BestEpoch,
    IReadOnlyDictionary<string, double> Metrics)
{
    public string Format()
    {
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"mode {Mode.ToWire()}: {TrainCount} train / {ValidationCount} validation, ");
        builder.Append(CultureInfo.InvariantCulture, $"{Epochs} epochs (best {BestEpoch})\n");
        foreach (var (name, value) in Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            builder.Append(CultureInfo.InvariantCulture, $"  {name,-26} {value:0.####}\n");
        }

        return builder.ToString();
    }
}

/// <summary>A trained policy, not yet written: <see cref="Save"/> exports it (with the ONNX parity check).</summary>
public sealed class PolicyTrainingResult(PolicyBundle bundle, TrainingSummary summary, ParityInputs validation, string? encoderBaseDirectory)
{
    public PolicyBundle Bundle { get; } = bundle;

    public TrainingSummary Summary { get; } = summary;

    /// <summary>The validation examples (embeddings and raw features), used for the export parity check.</summary>
    public ParityInputs Validation { get; } = validation;

    /// <summary>Writes the bundle directory; throws <see cref="OnnxParityException"/> if the ONNX heads drift.</summary>
    public double Save(string directory) => Bundle.Save(directory, Validation, encoderBaseDirectory);
}

/// <summary>
/// Trains the two-head policy on a label file: encode every query once with the frozen encoder, standardise the
/// features, then AdamW on λ·BCE + (1 − λ)·SmoothL1 (positives only) with class-balanced sampling, an EMA of the
/// weights for validation and checkpoint choice, and early stopping on the validation loss. One seed makes the
/// run reproducible bit for bit (single-threaded, fixed iteration order).
/// </summary>
public static class PolicyTrainer
{
    /// <summary>Reads the label file, trains, writes the bundle to <paramref name="outputDirectory"/>.</summary>
    public static PolicyTrainingResult TrainFile(
        string labelsPath,
        string outputDirectory,
        PolicyTrainingOptions options,
        IProgress<TrainProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        progress?.Report(new TrainProgress(TrainStage.Encoding, $"loading encoder {options.Encoder.Name}"));
        using var encoder = OnnxTextEncoder.Create(options.Encoder, options.EncoderBaseDirectory, options.EncoderRuntime);
        return TrainFile(labelsPath, outputDirectory, encoder, options, progress, cancellationToken);
    }

    /// <summary>
    /// As above with a given encoder, e.g. a <see cref="StoredTextEncoder"/> whose stored embeddings make a second
    /// run on the same labels encode nothing.
    /// </summary>
    public static PolicyTrainingResult TrainFile(
        string labelsPath,
        string outputDirectory,
        ITextEncoder encoder,
        PolicyTrainingOptions options,
        IProgress<TrainProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var labels = LabelFile.ReadAll(labelsPath);
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(labelsPath)));
        var result = Train(labels, encoder, options with { TrainingDataSha256 = sha }, progress, cancellationToken);
        progress?.Report(new TrainProgress(TrainStage.Exporting, $"writing {outputDirectory}"));
        var parity = result.Save(outputDirectory);
        progress?.Report(new TrainProgress(TrainStage.Done, $"bundle written; ONNX parity max abs {parity:G3}"));
        return result;
    }

    /// <summary>Trains with the encoder the options name (loaded for this run).</summary>
    public static PolicyTrainingResult Train(
        IReadOnlyList<LabelRecord> labels,
        PolicyTrainingOptions options,
        IProgress<TrainProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        progress?.Report(new TrainProgress(TrainStage.Encoding, $"loading encoder {options.Encoder.Name}"));
        using var encoder = OnnxTextEncoder.Create(options.Encoder, options.EncoderBaseDirectory, options.EncoderRuntime);
        return Train(labels, encoder, options, progress, cancellationToken);
    }

    /// <summary>Trains with a given encoder (e.g. a <see cref="CachingTextEncoder"/> shared across runs).</summary>
    public static PolicyTrainingResult Train(
        IReadOnlyList<LabelRecord> labels,
        ITextEncoder encoder,
        PolicyTrainingOptions options,
        IProgress<TrainProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (train, validation) = Split(labels, options);
        if (train.Count == 0 || validation.Count == 0)
        {
            throw new ArgumentException("Training needs labelled examples in both the train and the validation part.");
        }

        if (!options.AllowSingleClass && (!train.Any(l => l.NeedsHint) || train.All(l => l.NeedsHint)))
        {
            throw new ArgumentException("The train split needs examples of both classes (hint needed and not needed).");
        }

        var featureNames = options.FeatureNames;
        progress?.Report(new TrainProgress(TrainStage.Encoding, $"encoding {train.Count + validation.Count} queries"));
        var trainSet = Embed(train, encoder, featureNames, cancellationToken);
        var validationSet = Embed(validation, encoder, featureNames, cancellationToken);

        var features = featureNames
            .Select((name, i) => Statistics(name, i, trainSet.RawFeatures))
            .ToArray();
        var nMax = options.NMax ?? Math.Max(1, train.Where(l => l.NeedsHint).Max(l => l.EffectiveNStar));
        var etaHint = options.EtaHint ?? nMax;

        var architecture = new HeadsArchitecture
        {
            EmbeddingDim = encoder.Dimension,
            FeatureCount = features.Length,
            FeatureHidden = options.FeatureHidden,
            HintHidden = options.HintHidden,
            SizeHidden = options.SizeHidden,
            Dropout = options.Dropout,
            DropoutSamples = options.DropoutSamples,
        };
        var trainSamples = Samples(trainSet, train, features);
        var validationSamples = Samples(validationSet, validation, features);
        var loss = new LossSettings(options.Lambda, options.SmoothL1Beta);
        var fit = Fit(architecture, trainSamples, validationSamples, loss, options, progress, cancellationToken);

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        AddMetrics(metrics, "train", fit.Network, trainSamples, train, nMax, loss);
        AddMetrics(metrics, "val", fit.Network, validationSamples, validation, nMax, loss);
        var meanPositive = train.Where(l => l.NeedsHint).Average(l => (double)l.EffectiveNStar);
        metrics["val_mae_n_mean_baseline"] = PolicyMetrics.ConstantMae(
            validation.Where(l => l.NeedsHint).Select(l => l.EffectiveNStar).ToArray(), meanPositive);
        metrics["epochs"] = fit.Epochs;
        metrics["best_epoch"] = fit.BestEpoch;

        var sha = options.TrainingDataSha256 ?? CanonicalSha256(labels);
        var created = DateTimeOffset.UtcNow;
        var manifest = new PolicyManifest
        {
            BundleId = $"{options.Mode.ToWire()}-{sha[..12]}-{created:yyyyMMdd'T'HHmmss'Z'}",
            Mode = options.Mode,
            Encoder = encoder.Spec,
            EmbeddingDim = encoder.Dimension,
            Features = features,
            Heads = new HeadsSpec
            {
                FeatureHidden = architecture.HasFeatureBranch ? options.FeatureHidden : [],
                HintHidden = options.HintHidden,
                SizeHidden = options.SizeHidden,
                Dropout = options.Dropout,
                DropoutSamples = options.DropoutSamples,
            },
            Alpha = options.Alpha,
            EtaHint = etaHint,
            NMax = nMax,
            TrainingDataSha256 = sha,
            Training = new TrainingInfo
            {
                Labels = labels.Count,
                TrainCount = train.Count,
                ValidationCount = validation.Count,
                TrainPositiveRate = train.Count(l => l.NeedsHint) / (double)train.Count,
                Seed = options.Seed,
                Epochs = fit.Epochs,
                BestEpoch = fit.BestEpoch,
                Lambda = options.Lambda,
                LearningRate = options.LearningRate,
                WeightDecay = options.WeightDecay,
                EmaDecay = options.EmaDecay,
                BatchSize = options.BatchSize,
            },
            Metrics = metrics,
            CreatedAt = created,
        };

        var bundle = new PolicyBundle(manifest, fit.Network);
        var summary = new TrainingSummary(options.Mode, train.Count, validation.Count, fit.Epochs, fit.BestEpoch, metrics);
        var parity = new ParityInputs(validationSet.Embeddings.Vectors, validationSet.RawFeatures);
        return new PolicyTrainingResult(bundle, summary, parity, options.EncoderBaseDirectory);
    }

    /// <summary>sha256 of the records written as canonical JSONL.</summary>
    public static string CanonicalSha256(IEnumerable<LabelRecord> labels)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        LabelFile.Write(writer, labels);
        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(writer.ToString())));
    }

    internal sealed record FitResult(PolicyNetwork Network, int Epochs, int BestEpoch);

    /// <summary>The optimisation loop on precomputed samples.</summary>
    internal static FitResult Fit(
        HeadsArchitecture architecture,
        IReadOnlyList<TrainingSample> train,
        IReadOnlyList<TrainingSample> validation,
        LossSettings loss,
        PolicyTrainingOptions options,
        IProgress<TrainProgress>? progress,
        CancellationToken cancellationToken)
    {
        var network = PolicyNetwork.Initialise(architecture, options.Seed);
        // Start Head_size at the mean target so early steps shape rather than shift it.
        var positives = train.Where(s => s.NeedsHint).ToArray();
        if (positives.Length > 0)
        {
            network.Parameters[network.SizeLayers[^1].BiasOffset] = positives.Average(s => s.SizeTarget);
        }

        var optimiser = new AdamW(network.Parameters.Length, network.WeightDecayMask(), options.LearningRate, options.WeightDecay);
        var ema = new WeightAverage(network.Parameters, options.EmaDecay);
        var sampler = new BalancedSampler(train.Select(s => s.NeedsHint).ToArray(), new Random(unchecked(options.Seed + 1)));
        var dropout = new Random(unchecked(options.Seed + 2));
        var gradients = new double[network.Parameters.Length];
        var best = double.PositiveInfinity;
        var bestParameters = (double[])network.Parameters.Clone();
        var bestEpoch = 0;
        var epoch = 0;
        var batch = new List<TrainingSample>(options.BatchSize);
        while (epoch < options.MaxEpochs)
        {
            epoch++;
            cancellationToken.ThrowIfCancellationRequested();
            var draws = sampler.Epoch();
            double trainLoss = 0;
            var batches = 0;
            for (var start = 0; start < draws.Length; start += options.BatchSize)
            {
                batch.Clear();
                for (var i = start; i < Math.Min(start + options.BatchSize, draws.Length); i++)
                {
                    batch.Add(train[draws[i]]);
                }

                Array.Clear(gradients);
                trainLoss += network.Loss(batch, loss, dropout, gradients).Total;
                batches++;
                optimiser.Step(network.Parameters, gradients);
                ema.Update(network.Parameters);
            }

            var validationLoss = network.Loss(ema.Values, validation, loss, dropout: null, gradients: null).Total;
            var improved = validationLoss < best;
            if (improved)
            {
                best = validationLoss;
                bestEpoch = epoch;
                Array.Copy(ema.Values, bestParameters, bestParameters.Length);
            }

            if (progress is not null)
            {
                var scored = new PolicyNetwork(architecture, ema.Values);
                var auc = PolicyMetrics.Auc(validation.Select(s => scored.Forward(s.Embedding, s.Features).HintLogit).ToArray(), validation.Select(s => s.NeedsHint).ToArray());
                progress.Report(new TrainProgress(
                    TrainStage.Training, $"epoch {epoch}", epoch, options.MaxEpochs, trainLoss / Math.Max(batches, 1), validationLoss, auc, improved));
            }

            if (epoch - bestEpoch >= options.Patience)
            {
                break;
            }
        }

        return new FitResult(new PolicyNetwork(architecture, bestParameters), epoch, bestEpoch);
    }

    private sealed record EmbeddedSet(EncodedBatch Embeddings, double[][] RawFeatures);

    private static EmbeddedSet Embed(IReadOnlyList<LabelRecord> labels, ITextEncoder encoder, IReadOnlyList<string> featureNames, CancellationToken cancellationToken)
    {
        var encoded = encoder.Encode(labels.Select(l => l.Query).ToArray(), cancellationToken);
        var raw = new double[labels.Count][];
        for (var i = 0; i < labels.Count; i++)
        {
            raw[i] = new double[featureNames.Count];
            for (var f = 0; f < featureNames.Count; f++)
            {
                var name = featureNames[f];
                if (name == PolicyFeatureNames.QueryLength)
                {
                    // |q| in the encoder's tokens, exactly as the predictor will count it.
                    raw[i][f] = encoded.TokenCounts[i];
                }
                else if (labels[i].Features.TryGetValue(name, out var value))
                {
                    raw[i][f] = value;
                }
                else
                {
                    throw new ArgumentException($"Label '{labels[i].Id}' lacks the feature '{name}' the {string.Join(", ", featureNames)} model needs.");
                }
            }
        }

        return new EmbeddedSet(encoded, raw);
    }

    private static FeatureSpec Statistics(string name, int index, double[][] raw)
    {
        var mean = raw.Average(r => r[index]);
        var variance = raw.Average(r => (r[index] - mean) * (r[index] - mean));
        var std = Math.Sqrt(variance);
        var source = name == PolicyFeatureNames.QueryLength ? FeatureSource.QueryTokens : FeatureSource.Request;
        return new FeatureSpec(name, mean, std > 1e-9 ? std : 1.0, source);
    }

    private static TrainingSample[] Samples(EmbeddedSet set, IReadOnlyList<LabelRecord> labels, FeatureSpec[] features)
    {
        var samples = new TrainingSample[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            var z = new double[features.Length];
            for (var f = 0; f < features.Length; f++)
            {
                // Through float, as the ONNX heads will see the value.
                z[f] = ((float)set.RawFeatures[i][f] - features[f].Mean) / features[f].Std;
            }

            samples[i] = new TrainingSample(
                set.Embeddings.Row(i).ToArray(), z, labels[i].NeedsHint, PolicyDecisionRule.SizeTarget(labels[i].EffectiveNStar));
        }

        return samples;
    }

    private static (IReadOnlyList<LabelRecord> Train, IReadOnlyList<LabelRecord> Validation) Split(
        IReadOnlyList<LabelRecord> labels, PolicyTrainingOptions options)
    {
        var train = labels.Where(l => l.Split == LabelSplit.Train).ToList();
        var validation = labels.Where(l => l.Split == LabelSplit.Validation).ToList();
        if (validation.Count > 0)
        {
            return (train, validation);
        }

        // No validation split: hold out a seeded, stratified share of train.
        var random = new Random(unchecked(options.Seed + 3));
        var held = new List<LabelRecord>();
        var kept = new List<LabelRecord>();
        foreach (var group in train.GroupBy(l => l.NeedsHint).OrderBy(g => g.Key))
        {
            var shuffled = group.OrderBy(l => l.Id, StringComparer.Ordinal).ToArray();
            random.Shuffle(shuffled);
            var take = (int)Math.Round(shuffled.Length * options.ValidationFraction);
            held.AddRange(shuffled.Take(take));
            kept.AddRange(shuffled.Skip(take));
        }

        return (kept, held);
    }

    private static void AddMetrics(
        Dictionary<string, double> metrics, string prefix, PolicyNetwork network, IReadOnlyList<TrainingSample> samples,
        IReadOnlyList<LabelRecord> labels, int nMax, LossSettings loss)
    {
        var outputs = samples.Select(s => network.Forward(s.Embedding, s.Features)).ToArray();
        metrics[$"{prefix}_auc"] = PolicyMetrics.Auc(outputs.Select(o => o.HintLogit).ToArray(), labels.Select(l => l.NeedsHint).ToArray());
        var positive = Enumerable.Range(0, labels.Count).Where(i => labels[i].NeedsHint).ToArray();
        metrics[$"{prefix}_mae_n"] = PolicyMetrics.HintSizeMae(
            positive.Select(i => outputs[i].RawSize).ToArray(), positive.Select(i => labels[i].EffectiveNStar).ToArray(), nMax);
        var parts = network.Loss(samples, loss, dropout: null, gradients: null);
        metrics[$"{prefix}_loss"] = parts.Total;
        metrics[$"{prefix}_bce"] = parts.Hint;
        metrics[$"{prefix}_smooth_l1"] = parts.Size;
        metrics[$"{prefix}_positive_rate"] = positive.Length / (double)Math.Max(labels.Count, 1);
        metrics[$"{prefix}_accuracy_at_0.5"] = outputs.Select((o, i) => (o.PHint >= 0.5) == labels[i].NeedsHint ? 1.0 : 0.0).Average();
    }
}
