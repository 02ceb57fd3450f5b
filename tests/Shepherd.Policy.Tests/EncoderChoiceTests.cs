using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Prediction;
using Shepherd.Policy.Model.Training;
using Xunit.Abstractions;

namespace Shepherd.Policy.Tests;

/// <summary>The int8 encoder is the default only where it costs no decision quality (issue 15).</summary>
[Collection(PolicyCollection.Name)]
public sealed class EncoderChoiceTests(PolicyFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void Int8IsTheDefaultEncoderOnlyWhenItsAucIsWithinToleranceOfFloat32OnTheSameLabels()
    {
        var test = fixture.ProactiveLabels.Where(l => l.Split == LabelSplit.Test).ToArray();

        using var float32 = PolicyPredictor.Load(fixture.ProactiveBundle, fixture.Encoder);
        using var int8 = PolicyPredictor.Load(fixture.Int8ProactiveBundle, fixture.Int8Encoder);
        var float32Quality = PolicyQuality.Measure(float32, test);
        var int8Quality = PolicyQuality.Measure(int8, test);
        output.WriteLine($"float32: AUC {float32Quality.Auc:0.0000}, MAE n {float32Quality.MaeN:0.00}; int8: AUC {int8Quality.Auc:0.0000}, MAE n {int8Quality.MaeN:0.00}");

        Assert.Equal(EncoderQuantization.None, float32.Manifest.Encoder.Quantization);
        Assert.Equal(EncoderQuantization.DynamicInt8, int8.Manifest.Encoder.Quantization);
        Assert.InRange(float32Quality.Auc, 0.5, 1.0);
        Assert.InRange(int8Quality.Auc, 0.5, 1.0);
        Assert.True(double.IsFinite(float32Quality.MaeN) && double.IsFinite(int8Quality.MaeN));
        var int8IsDefault = new PolicyTrainingOptions().Encoder.Quantization == EncoderQuantization.DynamicInt8;
        if (float32Quality.Auc - int8Quality.Auc > PolicyQuality.MaxInt8AucLoss)
        {
            Assert.False(int8IsDefault, $"int8 costs {float32Quality.Auc - int8Quality.Auc:0.0000} AUC, more than {PolicyQuality.MaxInt8AucLoss}: keep float32 as the default");
        }
    }
}
