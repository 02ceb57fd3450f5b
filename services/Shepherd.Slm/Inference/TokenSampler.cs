namespace Shepherd.Slm.Inference;

/// <summary>
/// Samples one token from raw logits and measures the predictive entropy of the model's full softmax.
/// Entropy is taken at temperature 1 (the model's own distribution), in nats, whatever the sampling
/// temperature; sampling applies temperature, then nucleus (top-p) filtering.
/// </summary>
public static class TokenSampler
{
    // Candidates below this probability are ignored when building the nucleus. Their total mass is bounded by
    // vocab × 1e-9, far below any top_p resolution, and skipping them keeps large vocabularies cheap to sort.
    private const double NucleusFloor = 1e-9;

    public static (int Token, double Entropy) Sample(ReadOnlySpan<float> logits, float temperature, float topP, Random rng, float[] scratch)
    {
        var max = float.NegativeInfinity;
        var argMax = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            if (logits[i] > max)
            {
                max = logits[i];
                argMax = i;
            }
        }

        // Full softmax at T = 1: H = log Z - Σ p·(l - max) with p = e^(l - max) / Z.
        double z = 0, weighted = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            var d = logits[i] - max;
            var e = Math.Exp(d);
            z += e;
            weighted += e * d;
        }

        var entropy = Math.Max(0, Math.Log(z) - weighted / z);
        if (temperature <= 0)
        {
            return (argMax, entropy);
        }

        return (SampleTempered(logits, max, temperature, topP, rng, scratch), entropy);
    }

    private static int SampleTempered(ReadOnlySpan<float> logits, float max, float temperature, float topP, Random rng, float[] scratch)
    {
        double zt = 0;
        var probs = scratch.AsSpan(0, logits.Length);
        for (var i = 0; i < logits.Length; i++)
        {
            var e = (float)Math.Exp((logits[i] - max) / temperature);
            probs[i] = e;
            zt += e;
        }

        if (topP >= 1f)
        {
            var target = rng.NextDouble() * zt;
            double acc = 0;
            for (var i = 0; i < probs.Length; i++)
            {
                acc += probs[i];
                if (acc >= target)
                {
                    return i;
                }
            }

            return probs.Length - 1;
        }

        var floor = NucleusFloor * zt;
        var candidates = new List<(float P, int Id)>();
        for (var i = 0; i < probs.Length; i++)
        {
            if (probs[i] > floor)
            {
                candidates.Add((probs[i], i));
            }
        }

        // Descending by probability, ties by token id so the order is deterministic.
        candidates.Sort((a, b) => a.P != b.P ? b.P.CompareTo(a.P) : a.Id.CompareTo(b.Id));
        double mass = 0;
        var keep = 0;
        while (keep < candidates.Count)
        {
            mass += candidates[keep].P;
            keep++;
            if (mass >= topP * zt)
            {
                break;
            }
        }

        var pick = rng.NextDouble() * mass;
        double run = 0;
        for (var i = 0; i < keep; i++)
        {
            run += candidates[i].P;
            if (run >= pick)
            {
                return candidates[i].Id;
            }
        }

        return candidates[keep - 1].Id;
    }
}
