using Shepherd.Cli.Embeddings;
using Shepherd.Core.Cost;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Prediction;

namespace Shepherd.Cli.Evaluation;

/// <summary>A bundle's scores on a label set, with its manifest.</summary>
public sealed record ScoredBundle(string Directory, PolicyManifest Manifest, PolicyScores Scores);

/// <summary>
/// The glue between label files, policy bundles and Shepherd.Core.Evaluation that `shepherd calibrate`,
/// `shepherd eval --mode replay` and `shepherd reproduce` share: read and select labels, score them with a
/// bundle's predictor, replay.
/// </summary>
public static class ReplayRunner
{
    /// <summary>Queries per predictor call: one encoder run per batch.</summary>
    private const int PredictBatch = 64;

    /// <summary>Runs a command body; bad input (labels, bundles, arguments) prints one line and exits 1, no stack trace.</summary>
    public static Task<int> Guard(Func<int> body)
    {
        try
        {
            return Task.FromResult(body());
        }
        catch (Exception ex) when (ex is ReplayDataException or LabelFormatException or PolicyBundleException or Core.Errors.InvalidRequestException or InvalidOperationException or IOException)
        {
            Console.Error.WriteLine($"shepherd: {ex.Message}");
            return Task.FromResult(1);
        }
    }

    /// <summary>Reads a label file and keeps one split ("all" keeps every record).</summary>
    public static IReadOnlyList<LabelRecord> ReadLabels(string path, string split)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"label file '{path}' does not exist");
        }

        var records = LabelFile.ReadAll(path);
        if (split == "all")
        {
            return records;
        }

        var wanted = split switch
        {
            "train" => LabelSplit.Train,
            "validation" => LabelSplit.Validation,
            "test" => LabelSplit.Test,
            _ => throw new InvalidOperationException($"unknown split '{split}': train, validation, test or all"),
        };
        var selected = records.Where(r => r.Split == wanted).ToArray();
        return selected.Length > 0
            ? selected
            : throw new InvalidOperationException($"'{path}' has no {split} records ({records.Count} records in all); pass --split all to use them all");
    }

    /// <summary>P(hint) and r̂ for every record, from the bundle's own encoder and heads (features from the records).</summary>
    public static ScoredBundle Score(string bundleDirectory, IReadOnlyList<LabelRecord> records, CancellationToken cancellationToken)
    {
        // The bundle's encoder through the CLI's embedding cache: calibrate and eval re-read what train encoded.
        using var encoder = EmbeddingCache.ForBundle(bundleDirectory);
        using var predictor = PolicyPredictor.Load(bundleDirectory, encoder);
        var scores = new Dictionary<string, PolicyScore>(StringComparer.Ordinal);
        foreach (var batch in records.Chunk(PredictBatch))
        {
            var missing = batch.FirstOrDefault(r => predictor.RequestFeatures.Any(f => !r.Features.ContainsKey(f)));
            if (missing is not null)
            {
                throw new ReplayDataException(missing.Id, $"the {predictor.Mode.ToWire()} bundle needs the features {string.Join(", ", predictor.RequestFeatures)}");
            }

            var predictions = predictor.Predict(batch.Select(r => new PolicyQuery(r.Query, r.Features)).ToArray(), cancellationToken);
            for (var i = 0; i < batch.Length; i++)
            {
                scores[batch[i].Id] = new PolicyScore(predictions[i].PHint, predictions[i].RawSize);
            }
        }

        return new ScoredBundle(bundleDirectory, predictor.Manifest, new PolicyScores(predictor.Mode, predictor.Manifest.NMax, scores));
    }

    /// <summary>The record as one SLM answer would describe it: the first sample's entropy and length as the features.</summary>
    private static LabelRecord FirstSampleFeatures(LabelRecord record)
    {
        var first = record.SampleAnswers![0];
        var features = new Dictionary<string, double>(record.Features)
        {
            [PolicyFeatureNames.MeanEntropy] = first.Entropy,
            [PolicyFeatureNames.MeanOutputLength] = first.Tokens,
        };
        return record with { Features = features };
    }

    /// <summary>The task most records belong to (for the task's preset k).</summary>
    public static string MainTask(IReadOnlyList<LabelRecord> records) =>
        records.GroupBy(r => r.Task, StringComparer.OrdinalIgnoreCase).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;

    /// <summary>Calibrates a bundle on validation labels; writes α and η_hint back unless <paramref name="write"/> is false.</summary>
    public static CalibrationResult Calibrate(
        string bundleDirectory,
        IReadOnlyList<LabelRecord> records,
        CalibrationTarget target,
        ReplayOptions options,
        int? agree,
        int etaCount,
        bool write,
        CancellationToken cancellationToken)
    {
        var scored = Score(bundleDirectory, records, cancellationToken);
        var mode = scored.Manifest.Mode;
        var evaluator = mode == PolicyMode.Proactive
            ? new ReplayEvaluator(records, options, proactive: scored.Scores)
            : new ReplayEvaluator(records, options, reactive: scored.Scores);
        var k = agree ?? TaskPresets.For(MainTask(records)).Agree;
        var result = Calibrator.Calibrate(evaluator, mode, ReplayGrid.Default(scored.Manifest.NMax, etaCount: etaCount), target, k);
        if (write && result.Chosen is { } chosen)
        {
            PolicyBundle.WriteThresholds(bundleDirectory, chosen.Point.Alpha, chosen.Point.EtaHint);
        }

        return result;
    }

    /// <summary>Replays every strategy on test labels with one or two bundles and builds the report.</summary>
    public static EvaluationReport Evaluate(
        IReadOnlyList<LabelRecord> records,
        string bundleDirectory,
        string? reactiveBundleDirectory,
        ReplayOptions options,
        ReportSettings baseSettings,
        int? agree,
        CancellationToken cancellationToken)
    {
        var first = Score(bundleDirectory, records, cancellationToken);
        var second = reactiveBundleDirectory is null ? null : Score(reactiveBundleDirectory, records, cancellationToken);
        if (second is not null && (second.Manifest.Mode != PolicyMode.Reactive || first.Manifest.Mode != PolicyMode.Proactive))
        {
            throw new InvalidOperationException("with --reactive-bundle, --bundle must be a proactive bundle and --reactive-bundle a reactive one");
        }

        var proactive = first.Manifest.Mode == PolicyMode.Proactive ? first : null;
        var reactive = first.Manifest.Mode == PolicyMode.Reactive ? first : second;
        // cascade-scorer scores one SLM answer, as live: the reactive head on the first sample's features.
        var oneSample = reactive is not null && records.All(r => r.SampleAnswers is { Count: > 0 })
            ? Score(reactive.Directory, [.. records.Select(FirstSampleFeatures)], cancellationToken).Scores
            : null;
        var evaluator = new ReplayEvaluator(records, options, proactive?.Scores, reactive?.Scores, oneSample);
        var k = agree ?? TaskPresets.For(MainTask(records)).Agree;
        // cascade-abc as in the paper: N = 2 answers, the LLM unless both agree; labels without per-sample answers
        // (older files) replay k of K instead.
        var paperAbc = evaluator.Queries.All(q => q.HasSampleAnswers) && evaluator.Samples >= TaskPresets.AbcSamples;
        var nMax = Math.Max(proactive?.Manifest.NMax ?? 0, reactive?.Manifest.NMax ?? 0);
        var notes = new List<string>(baseSettings.Notes);
        if (proactive is not null)
        {
            notes.Add($"proactive bundle {proactive.Manifest.BundleId} ({proactive.Directory}): α={proactive.Manifest.Alpha:0.###}, η={proactive.Manifest.EtaHint}, N_max={proactive.Manifest.NMax}; route uses its α");
        }

        if (reactive is not null)
        {
            notes.Add($"reactive bundle {reactive.Manifest.BundleId} ({reactive.Directory}): α={reactive.Manifest.Alpha:0.###}, η={reactive.Manifest.EtaHint}, N_max={reactive.Manifest.NMax}, k={k} of K={evaluator.Samples}");
        }

        notes.Add(paperAbc
            ? $"cascade-abc: the paper's ABC, N={TaskPresets.AbcSamples} SLM answers, the LLM unless both agree"
            : $"cascade-abc: the labels keep no per-sample answers, so k={k} of K={evaluator.Samples} (relabel for the paper's N=2)");
        notes.Add(oneSample is null
            ? "cascade-scorer: scored on the K-sample features (the labels keep no per-sample answers)"
            : "cascade-scorer: scored on one sample's features, as live");
        notes.Add($"prices per 1M tokens: LLM ${options.LlmPrice.InputPerMillion} in / ${options.LlmPrice.OutputPerMillion} out, SLM ${options.SlmPrice.InputPerMillion} in / ${options.SlmPrice.OutputPerMillion} out");
        var settings = baseSettings with
        {
            RouteAlpha = proactive?.Manifest.Alpha ?? baseSettings.RouteAlpha,
            CascadeAgree = paperAbc ? TaskPresets.AbcSamples : k,
            CascadeSamples = paperAbc ? TaskPresets.AbcSamples : 0,
            ProactiveAlpha = proactive?.Manifest.Alpha ?? baseSettings.ProactiveAlpha,
            ProactiveEta = proactive?.Manifest.EtaHint ?? baseSettings.ProactiveEta,
            ReactiveAlpha = reactive?.Manifest.Alpha ?? baseSettings.ReactiveAlpha,
            ReactiveEta = reactive?.Manifest.EtaHint ?? baseSettings.ReactiveEta,
            ReactiveAgree = k,
            Grid = ReplayGrid.Default(Math.Max(nMax, 1)),
            Notes = notes,
        };
        return ReportBuilder.Build(evaluator, settings);
    }

    /// <summary>Prices from options ($ per 1M tokens), the paper's by default.</summary>
    public static ReplayOptions Options(double llmIn, double llmOut, double slmIn, double slmOut, int? trials) => new()
    {
        LlmPrice = new ModelPrice(llmIn, llmOut),
        SlmPrice = new ModelPrice(slmIn, slmOut),
        Trials = trials,
    };
}
