using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy.Tests;

[Collection(PolicyCollection.Name)]
public sealed class EncoderTests(PolicyFixture fixture)
{
    private static readonly string[] Texts =
    [
        "What is 2 + 2?",
        "Prove that the tangents from an external point to a circle are equal in length.",
        "Ava has 3 apples.",
    ];

    [Fact]
    public void PackagedMiniLmGivesUnitLength384DimensionalEmbeddings()
    {
        using var encoder = OnnxTextEncoder.Create(EncoderSpec.Default);

        var batch = encoder.Encode(Texts);

        Assert.Equal(384, encoder.Dimension);
        for (var i = 0; i < Texts.Length; i++)
        {
            var norm = Math.Sqrt(batch.Row(i).ToArray().Sum(v => (double)v * v));
            Assert.Equal(1.0, norm, tolerance: 1e-4);
        }
    }

    [Fact]
    public void AutomaticThreadsAreAnExplicitCountEveryCoreForBatchesOneForInt8()
    {
        // OnnxRuntime's own 0 gave one thread on a 2-core VM: float32 PredictBatch ran at 124 q/s, explicit 2 at 216.
        var auto = new EncoderRuntimeOptions();
        var int8 = EncoderSpec.Default with { Quantization = EncoderQuantization.DynamicInt8 };

        Assert.Equal(Environment.ProcessorCount, auto.For(EncoderSpec.Default).IntraOpThreads);
        Assert.Equal(1, auto.For(int8).IntraOpThreads);
        Assert.Equal(3, (auto with { IntraOpThreads = 3 }).For(EncoderSpec.Default).IntraOpThreads);
        using var encoder = OnnxTextEncoder.Create(EncoderSpec.Default);
        Assert.Equal(Environment.ProcessorCount, encoder.Runtime.IntraOpThreads);
    }

    [Fact]
    public void BatchedEncodingEqualsOneByOneDespitePadding()
    {
        using var encoder = OnnxTextEncoder.Create(EncoderSpec.Default);

        var batch = encoder.Encode(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            var single = encoder.Encode([Texts[i]]);
            var maxDifference = single.Row(0).ToArray().Zip(batch.Row(i).ToArray()).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(maxDifference < 1e-4, $"text {i}: {maxDifference}");
            Assert.Equal(single.TokenCounts[0], batch.TokenCounts[i]);
        }
    }

    [Fact]
    public void SimilarTextsAreCloserThanUnrelatedOnes()
    {
        var batch = fixture.Encoder.Encode(["How many apples does Ava have now?", "How many apples does Ben have left?", "Evaluate the definite integral of x^2 from 0 to 1."]);

        double Cosine(int a, int b) => batch.Row(a).ToArray().Zip(batch.Row(b).ToArray()).Sum(p => (double)p.First * p.Second);

        Assert.True(Cosine(0, 1) > Cosine(0, 2));
    }

    [Fact]
    public void TokenCountIgnoresSpecialTokensAndTruncation()
    {
        using var encoder = OnnxTextEncoder.Create(EncoderSpec.Default with { MaxLength = 8 });
        var longText = string.Join(' ', Enumerable.Repeat("apple", 40));

        Assert.Equal(40, encoder.CountTokens(longText));
        Assert.Equal(40, encoder.Encode([longText]).TokenCounts[0]);
    }

    [Fact]
    public void DynamicInt8QuantizationKeepsEmbeddingsCloseToFloat()
    {
        using var quantized = OnnxTextEncoder.Create(EncoderSpec.Default with { Quantization = EncoderQuantization.DynamicInt8 });

        var exact = fixture.Encoder.Encode(Texts);
        var approximate = quantized.Encode(Texts);

        for (var i = 0; i < Texts.Length; i++)
        {
            var cosine = exact.Row(i).ToArray().Zip(approximate.Row(i).ToArray()).Sum(p => (double)p.First * p.Second);
            Assert.True(cosine > 0.98, $"text {i}: cosine {cosine}");
        }
    }

    [Fact]
    public void AnInt8EmbeddingDoesNotDependOnItsBatchMates()
    {
        using var quantized = OnnxTextEncoder.Create(EncoderSpec.Default with { Quantization = EncoderQuantization.DynamicInt8 });
        var alone = quantized.Encode([Texts[0]]).Row(0).ToArray();

        // Company of every length, in both orders: the text pads to theirs, and their activations set a shared scale.
        var amongOthers = quantized.Encode([.. Texts.Skip(1), Texts[0]]);
        var reversed = quantized.Encode([Texts[0], .. Texts.Skip(1).Reverse()]);

        // Batch-mates moved these values by ~1e-2 when texts shared a run; alone they agree to float rounding.
        AssertClose(alone, amongOthers.Row(Texts.Length - 1).ToArray());
        AssertClose(alone, reversed.Row(0).ToArray());
        Assert.True(quantized.RunsAlone);
    }

    [Fact]
    public void QuantizerRewritesEveryWeightMatMul()
    {
        var quantized = EncoderQuantizer.QuantizeDynamicInt8(PackagedMiniLm.ReadModel(), out var count);

        // MiniLM-L6: Q, K, V, output, and two feed-forward matrices in each of 6 layers.
        Assert.Equal(36, count);
        Assert.True(quantized.Length < 70_000_000);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-6f);
        }
    }
}
