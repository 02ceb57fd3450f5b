namespace Shepherd.Policy.Model.Training;

/// <summary>Adam with decoupled weight decay (Loshchilov &amp; Hutter), as torch.optim.AdamW.</summary>
internal sealed class AdamW(int size, bool[] decayMask, double learningRate, double weightDecay, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
{
    private readonly double[] _m = new double[size];
    private readonly double[] _v = new double[size];
    private int _step;

    public void Step(double[] parameters, double[] gradients)
    {
        _step++;
        var correction1 = 1 - Math.Pow(beta1, _step);
        var correction2 = 1 - Math.Pow(beta2, _step);
        for (var i = 0; i < parameters.Length; i++)
        {
            var g = gradients[i];
            if (decayMask[i])
            {
                parameters[i] -= learningRate * weightDecay * parameters[i];
            }

            _m[i] = beta1 * _m[i] + (1 - beta1) * g;
            _v[i] = beta2 * _v[i] + (1 - beta2) * g * g;
            var mHat = _m[i] / correction1;
            var vHat = _v[i] / correction2;
            parameters[i] -= learningRate * mHat / (Math.Sqrt(vHat) + epsilon);
        }
    }
}

/// <summary>
/// An exponential moving average of the weights, with the usual warm-up d_t = min(d, (1 + t)/(10 + t)) so the
/// average is not pinned to the initial weights in short runs.
/// </summary>
internal sealed class WeightAverage(double[] initial, double decay)
{
    private int _updates;

    public double[] Values { get; } = (double[])initial.Clone();

    public void Update(double[] parameters)
    {
        _updates++;
        var d = Math.Min(decay, (1.0 + _updates) / (10.0 + _updates));
        for (var i = 0; i < Values.Length; i++)
        {
            Values[i] = d * Values[i] + (1 - d) * parameters[i];
        }
    }
}

/// <summary>
/// Class balancing as torch's WeightedRandomSampler with weight 1/|class|: each epoch draws as many indices as
/// there are samples, with replacement, so both classes are drawn equally often in expectation.
/// </summary>
internal sealed class BalancedSampler
{
    private readonly double[] _cumulative;
    private readonly Random _random;

    public BalancedSampler(IReadOnlyList<bool> labels, Random random)
    {
        _random = random;
        var positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        _cumulative = new double[labels.Count];
        double total = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            total += 1.0 / (labels[i] ? positives : negatives);
            _cumulative[i] = total;
        }
    }

    public int[] Epoch()
    {
        var total = _cumulative[^1];
        var draws = new int[_cumulative.Length];
        for (var i = 0; i < draws.Length; i++)
        {
            var target = _random.NextDouble() * total;
            var index = Array.BinarySearch(_cumulative, target);
            draws[i] = Math.Min(index >= 0 ? index + 1 : ~index, _cumulative.Length - 1);
        }

        return draws;
    }
}
