using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Training;

namespace Shepherd.Policy.Tests;

/// <summary>The on-disk embedding cache train, calibrate and eval share.</summary>
[Collection(PolicyCollection.Name)]
public sealed class EmbeddingStoreTests(PolicyFixture fixture)
{
    [Fact]
    public void SecondTrainingOnTheSameLabelsEncodesNothingAndGivesTheSameModel()
    {
        var directory = fixture.TempDirectory("store-train");
        var labels = Path.Combine(directory, "labels.jsonl");
        LabelFile.WriteAll(labels, SyntheticLabels.Generate(160, seed: 11, PolicyMode.Proactive));
        var store = Path.Combine(directory, "embeddings.db");
        var options = PolicyFixture.Options(PolicyMode.Proactive) with { MaxEpochs = 4 };

        using var first = StoredTextEncoder.Create(EmbeddingStore.Open(store), EncoderSpec.Default, ownsStore: true);
        var firstResult = PolicyTrainer.TrainFile(labels, Path.Combine(directory, "first"), first, options);
        using var second = StoredTextEncoder.Create(EmbeddingStore.Open(store), EncoderSpec.Default, ownsStore: true);
        var secondResult = PolicyTrainer.TrainFile(labels, Path.Combine(directory, "second"), second, options);

        Assert.True(first.TextsEncoded > 0);
        Assert.Equal(0, second.TextsEncoded);
        Assert.False(second.EncoderLoaded);
        Assert.True(second.TextsFound >= first.TextsEncoded);
        Assert.Equal(firstResult.Bundle.Network.Parameters, secondResult.Bundle.Network.Parameters);
    }

    [Fact]
    public void StoredEmbeddingsEqualTheEncodersOwn()
    {
        var store = Path.Combine(fixture.TempDirectory("store-equal"), "embeddings.db");
        string[] texts = ["What is 2 + 2?", "Ava has 3 apples and buys 4 more. How many now?", "What is 2 + 2?"];
        var expected = fixture.Encoder.Encode(texts);

        using (var filling = StoredTextEncoder.Create(EmbeddingStore.Open(store), EncoderSpec.Default, ownsStore: true))
        {
            filling.Encode(texts);
            Assert.Equal(2, filling.TextsEncoded);
        }

        using var reading = StoredTextEncoder.Create(EmbeddingStore.Open(store), EncoderSpec.Default, ownsStore: true);
        var stored = reading.Encode(texts);

        Assert.Equal(0, reading.TextsEncoded);
        Assert.Equal(384, reading.Dimension);
        Assert.Equal(expected.TokenCounts, stored.TokenCounts);
        Assert.True(expected.Vectors.Zip(stored.Vectors).All(p => Math.Abs(p.First - p.Second) < 1e-5));
        Assert.Equal(expected.TokenCounts[1], reading.CountTokens(texts[1]));
    }

    [Fact]
    public void EncodersThatEmbedDifferentlyHaveDifferentFingerprints()
    {
        var plain = EncoderFingerprint.Compute(EncoderSpec.Default);

        Assert.Equal(plain, EncoderFingerprint.Compute(EncoderSpec.Default with { Name = "renamed" }));
        Assert.NotEqual(plain, EncoderFingerprint.Compute(EncoderSpec.Default with { Quantization = EncoderQuantization.DynamicInt8 }));
        Assert.NotEqual(plain, EncoderFingerprint.Compute(EncoderSpec.Default with { MaxLength = 128 }));
        Assert.NotEqual(plain, EncoderFingerprint.Compute(EncoderSpec.Default with { Pooling = EncoderPooling.Cls }));
    }
}
