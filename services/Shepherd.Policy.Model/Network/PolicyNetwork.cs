namespace Shepherd.Policy.Model.Network;

/// <summary>One training example with its embedding already computed (the encoder is frozen).</summary>
/// <param name="Embedding">The pooled text embedding.</param>
/// <param name="Features">The standardised numeric features.</param>
/// <param name="NeedsHint">y = 1[n* &gt; 0].</param>
/// <param name="SizeTarget">r = log(1 + n*); used for positives only.</param>
public sealed record TrainingSample(float[] Embedding, double[] Features, bool NeedsHint, double SizeTarget);

/// <summary>The two head outputs for one query.</summary>
public readonly record struct HeadOutput(double HintLogit, double RawSize)
{
    public double PHint => Losses.Sigmoid(HintLogit);
}

/// <summary>The loss L = λ·BCE(ŷ, y) + (1 − λ)·SmoothL1_β(r̂ − r), the size term over positives only.</summary>
public sealed record LossSettings(double Lambda = 0.5, double SmoothL1Beta = 1.0);

/// <summary>Per-batch loss parts: the mean BCE over the batch and the mean SmoothL1 over its positives.</summary>
public readonly record struct BatchLoss(double Total, double Hint, double Size, int Count, int Positives);

/// <summary>
/// The trainable heads with hand-written forward and backward passes, in double precision. All weights live
/// in one flat vector (<see cref="Parameters"/>) so the optimiser, the EMA and the gradient check treat
/// them alike.
/// </summary>
public sealed class PolicyNetwork
{
    private readonly DenseLayer[] _featureLayers;
    private readonly DenseLayer[] _hintLayers;
    private readonly DenseLayer[] _sizeLayers;

    public PolicyNetwork(HeadsArchitecture architecture, double[]? parameters = null)
    {
        architecture.Validate();
        Architecture = architecture;
        var offset = 0;
        _featureLayers = architecture.HasFeatureBranch
            ? Stack("feature", architecture.FeatureCount, architecture.FeatureHidden, output: false, ref offset)
            : [];
        _hintLayers = Stack("hint", architecture.FusedDim, architecture.HintHidden, output: true, ref offset);
        _sizeLayers = Stack("size", architecture.FusedDim, architecture.SizeHidden, output: true, ref offset);
        if (parameters is not null && parameters.Length != offset)
        {
            throw new ArgumentException($"Expected {offset} parameters, got {parameters.Length}.", nameof(parameters));
        }

        Parameters = parameters ?? new double[offset];
    }

    public HeadsArchitecture Architecture { get; }

    /// <summary>Every weight and bias, in layer order.</summary>
    public double[] Parameters { get; }

    public IReadOnlyList<DenseLayer> FeatureLayers => _featureLayers;

    /// <summary>Head_hint's layers; the last one outputs the logit.</summary>
    public IReadOnlyList<DenseLayer> HintLayers => _hintLayers;

    /// <summary>Head_size's layers; the last one outputs r̂.</summary>
    public IReadOnlyList<DenseLayer> SizeLayers => _sizeLayers;

    public IEnumerable<DenseLayer> Layers => _featureLayers.Concat(_hintLayers).Concat(_sizeLayers);

    /// <summary>A network with PyTorch's default Linear initialisation, U(±1/√fan_in), from a seed.</summary>
    public static PolicyNetwork Initialise(HeadsArchitecture architecture, int seed)
    {
        var network = new PolicyNetwork(architecture);
        var random = new Random(seed);
        foreach (var layer in network.Layers)
        {
            var bound = 1.0 / Math.Sqrt(layer.In);
            for (var i = 0; i < layer.ParameterCount; i++)
            {
                network.Parameters[layer.WeightOffset + i] = (2 * random.NextDouble() - 1) * bound;
            }
        }

        return network;
    }

    /// <summary>True for weights, false for biases: AdamW decays weights only.</summary>
    public bool[] WeightDecayMask()
    {
        var mask = new bool[Parameters.Length];
        foreach (var layer in Layers)
        {
            Array.Fill(mask, true, layer.WeightOffset, layer.In * layer.Out);
        }

        return mask;
    }

    public PolicyNetwork Clone() => new(Architecture, (double[])Parameters.Clone());

    /// <summary>The evaluation forward pass (no dropout), with the given parameter vector.</summary>
    public HeadOutput Forward(ReadOnlySpan<float> embedding, ReadOnlySpan<double> standardisedFeatures) =>
        Forward(Parameters, embedding, standardisedFeatures);

    public HeadOutput Forward(double[] parameters, ReadOnlySpan<float> embedding, ReadOnlySpan<double> standardisedFeatures)
    {
        var workspace = new Workspace(this);
        return workspace.Forward(parameters, embedding, standardisedFeatures, dropout: null);
    }

    /// <summary>
    /// Forward and backward over a batch: adds ∂L/∂θ to <paramref name="gradients"/> (when not null) and returns
    /// the loss. <paramref name="dropout"/> = null evaluates without dropout; otherwise it draws the masks.
    /// </summary>
    public BatchLoss Loss(IReadOnlyList<TrainingSample> batch, LossSettings settings, Random? dropout, double[]? gradients) =>
        Loss(Parameters, batch, settings, dropout, gradients);

    public BatchLoss Loss(
        double[] parameters, IReadOnlyList<TrainingSample> batch, LossSettings settings, Random? dropout, double[]? gradients)
    {
        var workspace = new Workspace(this);
        var positives = batch.Count(s => s.NeedsHint);
        double hintSum = 0, sizeSum = 0;
        foreach (var sample in batch)
        {
            var output = workspace.Forward(parameters, sample.Embedding, sample.Features, dropout);
            var y = sample.NeedsHint ? 1.0 : 0.0;
            hintSum += Losses.BinaryCrossEntropyWithLogit(output.HintLogit, y);
            var dLogit = settings.Lambda / batch.Count * Losses.BinaryCrossEntropyGradient(output.HintLogit, y);
            var dSize = 0.0;
            if (sample.NeedsHint)
            {
                var difference = output.RawSize - sample.SizeTarget;
                sizeSum += Losses.SmoothL1(difference, settings.SmoothL1Beta);
                dSize = (1 - settings.Lambda) / positives * Losses.SmoothL1Gradient(difference, settings.SmoothL1Beta);
            }

            if (gradients is not null)
            {
                workspace.Backward(parameters, sample.Features, dLogit, dSize, gradients);
            }
        }

        var hint = batch.Count == 0 ? 0 : hintSum / batch.Count;
        var size = positives == 0 ? 0 : sizeSum / positives;
        return new BatchLoss(settings.Lambda * hint + (1 - settings.Lambda) * size, hint, size, batch.Count, positives);
    }

    private static DenseLayer[] Stack(string name, int input, IReadOnlyList<int> hidden, bool output, ref int offset)
    {
        var layers = new List<DenseLayer>();
        var width = input;
        var sizes = output ? hidden.Append(1) : hidden;
        var index = 0;
        foreach (var size in sizes)
        {
            layers.Add(new DenseLayer($"{name}{index++}", width, size, offset, offset + width * size));
            offset += width * size + size;
            width = size;
        }

        return [.. layers];
    }

    /// <summary>Activations of one sample, kept for the backward pass.</summary>
    private sealed class Workspace
    {
        private readonly PolicyNetwork _network;
        private readonly double[][] _featureActs;
        private readonly double[][] _hintActs;
        private readonly double[][] _sizeActs;
        private readonly double[] _u;
        private readonly double[] _mask;
        private readonly double[] _dropped;
        private readonly double[] _du;
        private readonly double[] _scratchA;
        private readonly double[] _scratchB;

        public Workspace(PolicyNetwork network)
        {
            _network = network;
            var arch = network.Architecture;
            _featureActs = network._featureLayers.Select(l => new double[l.Out]).ToArray();
            _hintActs = network._hintLayers.Select(l => new double[l.Out]).ToArray();
            _sizeActs = network._sizeLayers.Select(l => new double[l.Out]).ToArray();
            _u = new double[arch.FusedDim];
            var dropWidth = network._hintLayers[^1].In;
            _mask = new double[dropWidth];
            _dropped = new double[dropWidth];
            _du = new double[arch.FusedDim];
            var widest = network.Layers.Max(l => Math.Max(l.In, l.Out));
            _scratchA = new double[widest];
            _scratchB = new double[widest];
        }

        public HeadOutput Forward(double[] p, ReadOnlySpan<float> embedding, ReadOnlySpan<double> features, Random? dropout)
        {
            var arch = _network.Architecture;
            if (embedding.Length != arch.EmbeddingDim || features.Length != arch.FeatureCount)
            {
                throw new ArgumentException(
                    $"Expected an embedding of {arch.EmbeddingDim} and {arch.FeatureCount} features, got {embedding.Length} and {features.Length}.");
            }

            for (var i = 0; i < embedding.Length; i++)
            {
                _u[i] = embedding[i];
            }

            ReadOnlySpan<double> x = features;
            for (var l = 0; l < _network._featureLayers.Length; l++)
            {
                _network._featureLayers[l].Forward(p, x, _featureActs[l]);
                DenseLayer.Relu(_featureActs[l]);
                x = _featureActs[l];
            }

            if (arch.HasFeatureBranch)
            {
                x.CopyTo(_u.AsSpan(arch.EmbeddingDim));
            }

            // Head_hint: hidden layers, then multi-sample dropout before the output layer. The output layer is
            // linear, so the mean of the K logits equals one pass with the mean of the K scaled masks.
            x = Hidden(p, _network._hintLayers, _hintActs, _u);
            if (dropout is not null && arch.Dropout > 0)
            {
                var keep = 1 - arch.Dropout;
                for (var j = 0; j < _mask.Length; j++)
                {
                    var kept = 0;
                    for (var k = 0; k < arch.DropoutSamples; k++)
                    {
                        if (dropout.NextDouble() < keep)
                        {
                            kept++;
                        }
                    }

                    _mask[j] = kept / (keep * arch.DropoutSamples);
                }
            }
            else
            {
                Array.Fill(_mask, 1.0);
            }

            for (var j = 0; j < _dropped.Length; j++)
            {
                _dropped[j] = x[j] * _mask[j];
            }

            Span<double> logit = stackalloc double[1];
            _network._hintLayers[^1].Forward(p, _dropped, logit);

            x = Hidden(p, _network._sizeLayers, _sizeActs, _u);
            Span<double> size = stackalloc double[1];
            _network._sizeLayers[^1].Forward(p, x, size);
            return new HeadOutput(logit[0], size[0]);
        }

        public void Backward(double[] p, ReadOnlySpan<double> features, double dLogit, double dSize, double[] gradients)
        {
            var arch = _network.Architecture;
            var needU = arch.HasFeatureBranch;
            var gFrom = arch.EmbeddingDim;
            Array.Clear(_du);

            // Head_hint output layer, through the dropout mask.
            var hint = _network._hintLayers;
            Span<double> dy = stackalloc double[1];
            dy[0] = dLogit;
            var dh = _scratchA.AsSpan(0, _dropped.Length);
            var hintHasHidden = hint.Length > 1;
            hint[^1].Backward(p, _dropped, dy, gradients, hintHasHidden || needU ? (hintHasHidden ? dh : dh[gFrom..]) : [], hintHasHidden ? 0 : gFrom);
            if (hintHasHidden)
            {
                for (var j = 0; j < dh.Length; j++)
                {
                    dh[j] *= _mask[j];
                }

                BackwardHidden(p, hint, _hintActs, dh, gradients, needU);
            }
            else if (needU)
            {
                for (var j = 0; j < arch.FeatureOutputDim; j++)
                {
                    _du[gFrom + j] += dh[gFrom + j] * _mask[gFrom + j];
                }
            }

            // Head_size.
            var size = _network._sizeLayers;
            dy[0] = dSize;
            var sizeHasHidden = size.Length > 1;
            var sizeInput = sizeHasHidden ? _sizeActs[^2] : _u;
            var ds = _scratchA.AsSpan(0, size[^1].In);
            size[^1].Backward(p, sizeInput, dy, gradients, sizeHasHidden || needU ? (sizeHasHidden ? ds : ds[gFrom..]) : [], sizeHasHidden ? 0 : gFrom);
            if (sizeHasHidden)
            {
                BackwardHidden(p, size, _sizeActs, ds, gradients, needU);
            }
            else if (needU)
            {
                for (var j = 0; j < arch.FeatureOutputDim; j++)
                {
                    _du[gFrom + j] += ds[gFrom + j];
                }
            }

            if (!needU)
            {
                return;
            }

            // g = MLP(f): back from u's feature part.
            var layers = _network._featureLayers;
            var dg = _scratchA.AsSpan(0, arch.FeatureOutputDim);
            _du.AsSpan(gFrom).CopyTo(dg);
            for (var l = layers.Length - 1; l >= 0; l--)
            {
                DenseLayer.ReluBackward(_featureActs[l], dg);
                var input = l == 0 ? features : _featureActs[l - 1];
                var dx = l == 0 ? Span<double>.Empty : _scratchB.AsSpan(0, layers[l].In);
                layers[l].Backward(p, input, dg, gradients, dx);
                if (l > 0)
                {
                    dg = _scratchA.AsSpan(0, layers[l].In);
                    dx.CopyTo(dg);
                }
            }
        }

        private static ReadOnlySpan<double> Hidden(double[] p, DenseLayer[] layers, double[][] acts, double[] u)
        {
            ReadOnlySpan<double> x = u;
            for (var l = 0; l < layers.Length - 1; l++)
            {
                layers[l].Forward(p, x, acts[l]);
                DenseLayer.Relu(acts[l]);
                x = acts[l];
            }

            return x;
        }

        /// <summary>
        /// Backward through a head's hidden layers, given ∂L/∂(last hidden activation) in <paramref name="gradient"/>
        /// (which lives in _scratchA); adds the feature part of ∂L/∂u to _du.
        /// </summary>
        private void BackwardHidden(double[] p, DenseLayer[] layers, double[][] acts, Span<double> gradient, double[] gradients, bool needU)
        {
            var gFrom = _network.Architecture.EmbeddingDim;
            var current = gradient;
            for (var l = layers.Length - 2; l >= 0; l--)
            {
                DenseLayer.ReluBackward(acts[l], current);
                if (l == 0)
                {
                    var dx = needU ? _scratchB.AsSpan(0, layers[0].In - gFrom) : Span<double>.Empty;
                    layers[0].Backward(p, _u, current, gradients, dx, gFrom);
                    for (var j = 0; j < dx.Length; j++)
                    {
                        _du[gFrom + j] += dx[j];
                    }
                }
                else
                {
                    var dx = _scratchB.AsSpan(0, layers[l].In);
                    layers[l].Backward(p, acts[l - 1], current, gradients, dx);
                    current = _scratchA.AsSpan(0, layers[l].In);
                    dx.CopyTo(current);
                }
            }
        }
    }
}
