using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Prediction;

namespace Shepherd.Policy.Model.Training;

/// <summary>A policy's decision quality on labelled records: the hint head's AUC and the size head's MAE.</summary>
/// <param name="Auc">ROC AUC of P(hint) against "needs a hint".</param>
/// <param name="MaeN">Mean |n − n*| of the decided size on the records that need a hint.</param>
public sealed record PolicyQuality(int Count, double Auc, double MaeN)
{
    /// <summary>
    /// The most hint-head AUC the int8 encoder may cost against float32 on the same labels and still be the
    /// default (issue 15); beyond it float32 stays the default.
    /// </summary>
    public const double MaxInt8AucLoss = 0.005;

    /// <summary>Scores the records with a predictor (its encoder and heads), α and η aside.</summary>
    public static PolicyQuality Measure(PolicyPredictor predictor, IReadOnlyList<LabelRecord> records, CancellationToken cancellationToken = default)
    {
        var predictions = new List<PolicyPrediction>(records.Count);
        foreach (var chunk in records.Chunk(64))
        {
            predictions.AddRange(predictor.Predict(chunk.Select(r => new PolicyQuery(r.Query, r.Features)).ToArray(), cancellationToken));
        }

        var positive = Enumerable.Range(0, records.Count).Where(i => records[i].NeedsHint).ToArray();
        return new PolicyQuality(
            records.Count,
            PolicyMetrics.Auc(predictions.Select(p => p.HintLogit).ToArray(), records.Select(r => r.NeedsHint).ToArray()),
            PolicyMetrics.HintSizeMae(
                positive.Select(i => predictions[i].RawSize).ToArray(), positive.Select(i => records[i].EffectiveNStar).ToArray(), predictor.Manifest.NMax));
    }
}
