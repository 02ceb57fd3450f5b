using Shepherd.Policy.Model.Network;

namespace Shepherd.Policy.Tests;

/// <summary>Hand-written backpropagation against central finite differences, in double precision.</summary>
public sealed class GradientCheckTests
{
    private const double Step = 1e-6;
    private const double Tolerance = 1e-6;

    [Fact]
    public void DenseLayerGradientsMatchFiniteDifferences()
    {
        var random = new Random(1);
        var layer = new DenseLayer("d", In: 5, Out: 4, WeightOffset: 0, BiasOffset: 20);
        var parameters = RandomVector(random, layer.ParameterCount);
        var x = RandomVector(random, 5);
        var upstream = RandomVector(random, 4);
        double Objective(double[] p, double[] input)
        {
            var y = new double[4];
            layer.Forward(p, input, y);
            return y.Select((v, i) => v * upstream[i]).Sum();
        }

        var gradients = new double[parameters.Length];
        var dx = new double[5];
        layer.Backward(parameters, x, upstream, gradients, dx);

        AssertClose(Numeric(p => Objective(p, x), parameters), gradients);
        AssertClose(Numeric(input => Objective(parameters, input), x), dx);
    }

    [Fact]
    public void DenseLayerPartialInputGradientSkipsTheFrozenPrefix()
    {
        var random = new Random(2);
        var layer = new DenseLayer("d", In: 6, Out: 3, WeightOffset: 0, BiasOffset: 18);
        var parameters = RandomVector(random, layer.ParameterCount);
        var x = RandomVector(random, 6);
        var upstream = RandomVector(random, 3);
        var full = new double[6];
        var tail = new double[2];

        layer.Backward(parameters, x, upstream, new double[parameters.Length], full);
        layer.Backward(parameters, x, upstream, new double[parameters.Length], tail, dxFrom: 4);

        AssertClose(full[4..], tail);
    }

    [Fact]
    public void ReluBackwardPassesGradientOnlyWhereTheUnitWasActive()
    {
        double[] activation = [0.5, 0, 2, 0];
        double[] gradient = [1, 2, 3, 4];

        DenseLayer.ReluBackward(activation, gradient);

        Assert.Equal([1, 0, 3, 0], gradient);
    }

    [Theory]
    [InlineData(2.3, 1.0)]
    [InlineData(-1.7, 1.0)]
    [InlineData(0.4, 0.0)]
    [InlineData(-25.0, 1.0)]
    public void BinaryCrossEntropyGradientMatchesFiniteDifferences(double logit, double target)
    {
        var numeric = (Losses.BinaryCrossEntropyWithLogit(logit + Step, target) - Losses.BinaryCrossEntropyWithLogit(logit - Step, target)) / (2 * Step);

        Assert.Equal(numeric, Losses.BinaryCrossEntropyGradient(logit, target), tolerance: 1e-6);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(-0.6)]
    [InlineData(2.5)]
    [InlineData(-4.0)]
    public void SmoothL1GradientMatchesFiniteDifferencesInBothRegimes(double difference)
    {
        var numeric = (Losses.SmoothL1(difference + Step, 1.0) - Losses.SmoothL1(difference - Step, 1.0)) / (2 * Step);

        Assert.Equal(numeric, Losses.SmoothL1Gradient(difference, 1.0), tolerance: 1e-6);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void NetworkLossGradientMatchesFiniteDifferencesForEveryParameter(bool hiddenHeads, bool withFeatures)
    {
        var architecture = new HeadsArchitecture
        {
            EmbeddingDim = 6,
            FeatureCount = withFeatures ? 3 : 0,
            FeatureHidden = [4, 3],
            HintHidden = hiddenHeads ? [5, 4] : [],
            SizeHidden = hiddenHeads ? [4] : [],
            Dropout = 0.3,
            DropoutSamples = 3,
        };
        var network = PolicyNetwork.Initialise(architecture, seed: 3);
        var random = new Random(4);
        var batch = Enumerable.Range(0, 6)
            .Select(i => new TrainingSample(
                RandomVector(random, 6).Select(v => (float)v).ToArray(),
                RandomVector(random, architecture.FeatureCount),
                NeedsHint: i % 2 == 0,
                SizeTarget: 3 * random.NextDouble()))
            .ToList();
        var settings = new LossSettings(Lambda: 0.4, SmoothL1Beta: 0.5);
        // The same dropout masks on every evaluation: a fresh generator with one seed.
        double Loss(double[] p) => network.Loss(p, batch, settings, new Random(5), gradients: null).Total;

        var analytic = new double[network.Parameters.Length];
        network.Loss(network.Parameters, batch, settings, new Random(5), analytic);

        AssertClose(Numeric(Loss, network.Parameters), analytic);
    }

    [Fact]
    public void MultiSampleDropoutAveragesLogitsAndIsOffInEvaluation()
    {
        var architecture = new HeadsArchitecture { EmbeddingDim = 4, FeatureCount = 0, HintHidden = [3], SizeHidden = [], Dropout = 0.5, DropoutSamples = 4 };
        var network = PolicyNetwork.Initialise(architecture, seed: 6);
        var sample = new TrainingSample([0.1f, -0.2f, 0.3f, 0.4f], [], NeedsHint: true, SizeTarget: 1);
        var settings = new LossSettings();

        var evaluation1 = network.Loss([sample], settings, dropout: null, gradients: null);
        var evaluation2 = network.Loss([sample], settings, dropout: null, gradients: null);
        var trainingLosses = Enumerable.Range(0, 8).Select(s => network.Loss([sample], settings, new Random(s), null).Hint).ToArray();

        Assert.Equal(evaluation1, evaluation2);
        Assert.True(trainingLosses.Distinct().Count() > 1, "dropout should vary the training loss");
    }

    private static double[] Numeric(Func<double[], double> f, double[] at)
    {
        var gradient = new double[at.Length];
        for (var i = 0; i < at.Length; i++)
        {
            var saved = at[i];
            at[i] = saved + Step;
            var plus = f(at);
            at[i] = saved - Step;
            var minus = f(at);
            at[i] = saved;
            gradient[i] = (plus - minus) / (2 * Step);
        }

        return gradient;
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var scale = Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance * scale,
                $"gradient {i}: numeric {expected[i]:G10}, analytic {actual[i]:G10}");
        }
    }

    private static double[] RandomVector(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => 2 * random.NextDouble() - 1).ToArray();
}
