using Shepherd.Core.Policy;
using Xunit.Abstractions;

namespace Shepherd.Policy.Tests;

/// <summary>
/// Tests of the training machinery on generated labels whose hint need depends on the text (and, reactive, on
/// the SLM entropy). They say the code learns what is learnable; they say nothing of quality on real data.
/// </summary>
[Collection(PolicyCollection.Name)]
public sealed class LearningMachineryTests(PolicyFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void MachineryLearnsTheSyntheticProactiveHintNeedAndSize()
    {
        var summary = fixture.Proactive.Summary;
        output.WriteLine(summary.Format());

        Assert.True(summary.Metrics["val_auc"] >= 0.9, $"val AUC {summary.Metrics["val_auc"]}");
        Assert.True(summary.Metrics["val_mae_n"] < summary.Metrics["val_mae_n_mean_baseline"],
            $"size MAE {summary.Metrics["val_mae_n"]} vs predicting the mean {summary.Metrics["val_mae_n_mean_baseline"]}");
    }

    [Fact]
    public void MachineryLearnsTheSyntheticReactiveHintNeedFromTextAndFeatures()
    {
        var summary = fixture.Reactive.Summary;
        output.WriteLine(summary.Format());

        Assert.Equal(PolicyMode.Reactive, summary.Mode);
        Assert.Equal(
            [PolicyFeatureNames.MeanEntropy, PolicyFeatureNames.MeanOutputLength, PolicyFeatureNames.QueryLength],
            fixture.Reactive.Bundle.Manifest.Features.Select(f => f.Name));
        Assert.True(summary.Metrics["val_auc"] >= 0.9, $"val AUC {summary.Metrics["val_auc"]}");
        Assert.True(summary.Metrics["val_mae_n"] < summary.Metrics["val_mae_n_mean_baseline"]);
    }

    [Fact]
    public void EarlyStoppingKeepsTheBestEpochOfTheAverage()
    {
        var training = fixture.Proactive.Bundle.Manifest.Training;

        Assert.InRange(training.BestEpoch, 1, training.Epochs);
        Assert.True(training.Epochs < 100 || training.BestEpoch > 90, "training should stop early once validation loss stalls");
    }
}
