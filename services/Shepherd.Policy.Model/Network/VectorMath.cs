using System.Numerics;

namespace Shepherd.Policy.Model.Network;

/// <summary>The two loops backpropagation needs, SIMD where the hardware has it.</summary>
internal static class VectorMath
{
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var sum = Vector<double>.Zero;
        var i = 0;
        var width = Vector<double>.Count;
        for (; i <= a.Length - width; i += width)
        {
            sum += new Vector<double>(a[i..]) * new Vector<double>(b[i..]);
        }

        var total = Vector.Sum(sum);
        for (; i < a.Length; i++)
        {
            total += a[i] * b[i];
        }

        return total;
    }

    /// <summary>y += scale · x.</summary>
    public static void Axpy(double scale, ReadOnlySpan<double> x, Span<double> y)
    {
        var s = new Vector<double>(scale);
        var i = 0;
        var width = Vector<double>.Count;
        for (; i <= x.Length - width; i += width)
        {
            (new Vector<double>(y[i..]) + s * new Vector<double>(x[i..])).CopyTo(y[i..]);
        }

        for (; i < x.Length; i++)
        {
            y[i] += scale * x[i];
        }
    }
}
