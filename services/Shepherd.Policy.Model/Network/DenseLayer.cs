namespace Shepherd.Policy.Model.Network;

/// <summary>
/// y = W·x + b with W stored row-major [Out, In] at <see cref="WeightOffset"/> of the network's parameter
/// vector and b at <see cref="BiasOffset"/>. The layout matches ONNX Gemm with transB = 1.
/// </summary>
public sealed record DenseLayer(string Name, int In, int Out, int WeightOffset, int BiasOffset)
{
    public int ParameterCount => In * Out + Out;

    public void Forward(ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, Span<double> y)
    {
        for (var o = 0; o < Out; o++)
        {
            y[o] = parameters[BiasOffset + o] + VectorMath.Dot(parameters.Slice(WeightOffset + o * In, In), x);
        }
    }

    /// <summary>
    /// Adds ∂L/∂W and ∂L/∂b to <paramref name="gradients"/>; writes ∂L/∂x[dxFrom..] into <paramref name="dx"/>
    /// when it is not empty (the frozen embedding's part of u needs no gradient).
    /// </summary>
    public void Backward(
        ReadOnlySpan<double> parameters, ReadOnlySpan<double> x, ReadOnlySpan<double> dy, Span<double> gradients, Span<double> dx, int dxFrom = 0)
    {
        var wantInput = !dx.IsEmpty;
        if (wantInput)
        {
            dx.Clear();
        }

        for (var o = 0; o < Out; o++)
        {
            var g = dy[o];
            if (g == 0)
            {
                continue;
            }

            gradients[BiasOffset + o] += g;
            VectorMath.Axpy(g, x, gradients.Slice(WeightOffset + o * In, In));
            if (wantInput)
            {
                VectorMath.Axpy(g, parameters.Slice(WeightOffset + o * In + dxFrom, In - dxFrom), dx);
            }
        }
    }

    public static void Relu(Span<double> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] < 0)
            {
                values[i] = 0;
            }
        }
    }

    /// <summary>∂L/∂z = ∂L/∂a where the ReLU output a was positive, else 0 (in place).</summary>
    public static void ReluBackward(ReadOnlySpan<double> activation, Span<double> gradient)
    {
        for (var i = 0; i < gradient.Length; i++)
        {
            if (activation[i] <= 0)
            {
                gradient[i] = 0;
            }
        }
    }
}
