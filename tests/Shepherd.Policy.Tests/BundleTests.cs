using System.Text.Json;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Network;
using Shepherd.Policy.Model.Prediction;
using Shepherd.Policy.Model.Training;

namespace Shepherd.Policy.Tests;

[Collection(PolicyCollection.Name)]
public sealed class BundleTests(PolicyFixture fixture)
{
    [Fact]
    public void OnnxHeadsMatchTheCSharpForwardPassOnTheValidationSet()
    {
        foreach (var directory in new[] { fixture.ProactiveBundle, fixture.ReactiveBundle })
        {
            var manifest = PolicyBundle.ReadManifest(directory);

            Assert.InRange(manifest.Training.OnnxParityMaxAbs, 0, PolicyBundle.ParityTolerance);
        }

        var result = fixture.Reactive;
        var onnx = HeadsOnnx.Export(result.Bundle.Network, result.Bundle.Manifest.Features, "test");
        Assert.True(result.Bundle.ParityDifference(onnx, result.Validation) < PolicyBundle.ParityTolerance);
    }

    [Fact]
    public void ParityCatchesHeadsThatDifferFromTheCSharpForwardPass()
    {
        var bundle = fixture.Proactive.Bundle;
        var other = PolicyNetwork.Initialise(bundle.Network.Architecture, seed: 99);

        var difference = bundle.ParityDifference(HeadsOnnx.Export(other, bundle.Manifest.Features, "test"), fixture.Proactive.Validation);

        Assert.True(difference >= PolicyBundle.ParityTolerance);
    }

    [Fact]
    public void ExportFailsAndWritesNothingWhenParityFails()
    {
        var original = fixture.Proactive.Bundle;
        var broken = original.Network.Clone();
        broken.Parameters[broken.HintLayers[^1].BiasOffset] = double.NaN;
        var bundle = new PolicyBundle(original.Manifest, broken);
        var directory = Path.Combine(fixture.TempDirectory("parity"), "bundle");

        Assert.Throws<OnnxParityException>(() => bundle.Save(directory, fixture.Proactive.Validation));
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void BundleRoundTripKeepsManifestWeightsAndPredictions()
    {
        var trained = fixture.Reactive.Bundle;

        var loaded = PolicyBundle.Load(fixture.ReactiveBundle);

        Assert.Equal(trained.Manifest.BundleId, loaded.Manifest.BundleId);
        Assert.Equal(PolicyMode.Reactive, loaded.Manifest.Mode);
        Assert.Equal(trained.Manifest.Features, loaded.Manifest.Features);
        Assert.Equal(trained.Manifest.Encoder, loaded.Manifest.Encoder);
        Assert.Equal(trained.Manifest.Heads.HintHidden, loaded.Manifest.Heads.HintHidden);
        Assert.Equal((trained.Manifest.Alpha, trained.Manifest.EtaHint, trained.Manifest.NMax), (loaded.Manifest.Alpha, loaded.Manifest.EtaHint, loaded.Manifest.NMax));
        Assert.Equal(trained.Manifest.TrainingDataSha256, loaded.Manifest.TrainingDataSha256);
        Assert.Equal(trained.Manifest.CreatedAt, loaded.Manifest.CreatedAt);
        Assert.Equal(trained.Manifest.Metrics.OrderBy(m => m.Key), loaded.Manifest.Metrics.OrderBy(m => m.Key));
        Assert.Equal(trained.Network.Parameters.Select(p => (float)p), loaded.Network.Parameters.Select(p => (float)p));

        using var predictor = PolicyPredictor.Load(fixture.ReactiveBundle, fixture.Encoder);
        var labels = fixture.ReactiveLabels.Where(l => l.Split == Core.Policy.LabelSplit.Test).Take(20).ToArray();
        var predictions = predictor.Predict(labels.Select(l => new PolicyQuery(l.Query, l.Features)).ToArray());
        var embeddings = fixture.Encoder.Encode(labels.Select(l => l.Query).ToArray());
        for (var i = 0; i < labels.Length; i++)
        {
            var raw = new double[] { labels[i].Features[PolicyFeatureNames.MeanEntropy], labels[i].Features[PolicyFeatureNames.MeanOutputLength], embeddings.TokenCounts[i] };
            var expected = loaded.Forward(embeddings.Row(i), raw.Select(v => (double)(float)v).ToArray());
            Assert.Equal(expected.HintLogit, predictions[i].HintLogit, tolerance: 1e-4);
            Assert.Equal(expected.RawSize, predictions[i].RawSize, tolerance: 1e-4);
        }
    }

    [Fact]
    public void ManifestIsSnakeCaseJsonWithTheDocumentedFields()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.ProactiveBundle, PolicyBundle.ManifestFileName)));
        var root = document.RootElement;

        foreach (var field in new[] { "schema_version", "bundle_id", "mode", "encoder", "features", "alpha", "eta_hint", "n_max", "training_data_sha256", "metrics", "created_at" })
        {
            Assert.True(root.TryGetProperty(field, out _), $"policy.json lacks '{field}'");
        }

        Assert.Equal("proactive", root.GetProperty("mode").GetString());
        Assert.Equal("query_tokens", root.GetProperty("features")[0].GetProperty("source").GetString());
        Assert.Equal(EncoderSpec.PackagedMiniLm, root.GetProperty("encoder").GetProperty("model").GetString());
        Assert.Equal(64, root.GetProperty("training_data_sha256").GetString()!.Length);
    }

    [Fact]
    public void SameSeedGivesAnIdenticalModelAndAnotherSeedDoesNot()
    {
        var labels = fixture.ProactiveLabels;
        var options = PolicyFixture.Options(PolicyMode.Proactive) with { MaxEpochs = 8 };

        var first = PolicyTrainer.Train(labels, fixture.Encoder, options);
        var second = PolicyTrainer.Train(labels, fixture.Encoder, options);
        var third = PolicyTrainer.Train(labels, fixture.Encoder, options with { Seed = 43 });

        Assert.Equal(first.Bundle.Network.Parameters, second.Bundle.Network.Parameters);
        Assert.Equal(
            HeadsOnnx.Export(first.Bundle.Network, first.Bundle.Manifest.Features, "x"),
            HeadsOnnx.Export(second.Bundle.Network, second.Bundle.Manifest.Features, "x"));
        Assert.Equal(first.Summary.Metrics, second.Summary.Metrics);
        Assert.NotEqual(first.Bundle.Network.Parameters, third.Bundle.Network.Parameters);
    }

    [Fact]
    public void CalibratedThresholdsAreWrittenBackWithoutTouchingTheHeads()
    {
        var directory = CopyBundle(fixture.ProactiveBundle);
        var heads = File.ReadAllBytes(Path.Combine(directory, PolicyBundle.HeadsFileName));

        PolicyBundle.WriteThresholds(directory, alpha: 0.228, etaHint: 58);
        var loaded = PolicyBundle.Load(directory);

        Assert.Equal((0.228, 58), (loaded.Manifest.Alpha, loaded.Manifest.EtaHint));
        Assert.Equal(fixture.Proactive.Bundle.Manifest.BundleId, loaded.Manifest.BundleId);
        Assert.Equal(heads, File.ReadAllBytes(Path.Combine(directory, PolicyBundle.HeadsFileName)));
        Assert.Throws<ArgumentOutOfRangeException>(() => PolicyBundle.WriteThresholds(directory, alpha: 1.2, etaHint: 58));
    }

    [Fact]
    public void MissingBundleDirectoryNamesThePath()
    {
        var path = Path.Combine(fixture.TempDirectory("missing"), "nope");

        var ex = Assert.Throws<PolicyBundleException>(() => PolicyBundle.Load(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("policy.json", "{ not json")]
    [InlineData("policy.json", "null")]
    [InlineData("heads.onnx", "garbage")]
    public void CorruptBundleFilesAreReportedWithTheirPath(string file, string content)
    {
        var directory = CopyBundle(fixture.ProactiveBundle);
        File.WriteAllText(Path.Combine(directory, file), content);

        var ex = Assert.Throws<PolicyBundleException>(() => PolicyBundle.Load(directory));

        Assert.Contains(directory, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedSchemaVersionIsRejected()
    {
        var directory = CopyBundle(fixture.ProactiveBundle);
        var path = Path.Combine(directory, PolicyBundle.ManifestFileName);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"schema_version\": 1", "\"schema_version\": 99", StringComparison.Ordinal));

        var ex = Assert.Throws<PolicyBundleException>(() => PolicyBundle.Load(directory));

        Assert.Contains("schema_version 99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonDefaultEncoderFilesTravelInTheBundle()
    {
        var source = fixture.TempDirectory("encoder-src");
        File.WriteAllBytes(Path.Combine(source, "model.onnx"), PackagedMiniLm.ReadModel());
        using (var vocabulary = PackagedMiniLm.OpenVocabulary())
        using (var target = File.Create(Path.Combine(source, "vocab.txt")))
        {
            vocabulary.CopyTo(target);
        }

        var spec = EncoderSpec.Default with { Name = "minilm-from-files", Model = "model.onnx", Vocabulary = "vocab.txt", Pooling = EncoderPooling.Cls };
        var labels = fixture.ProactiveLabels.Take(200).ToArray();
        var options = PolicyFixture.Options(PolicyMode.Proactive) with { Encoder = spec, EncoderBaseDirectory = source, MaxEpochs = 3 };
        var bundleDirectory = Path.Combine(fixture.TempDirectory("custom"), "bundle");

        PolicyTrainer.Train(labels, options).Save(bundleDirectory);
        using var predictor = PolicyPredictor.Load(bundleDirectory);

        Assert.Equal("encoder/model.onnx", predictor.Manifest.Encoder.Model);
        Assert.True(File.Exists(Path.Combine(bundleDirectory, "encoder", "vocab.txt")));
        Assert.Equal(EncoderPooling.Cls, predictor.Manifest.Encoder.Pooling);
        Assert.InRange(predictor.Predict(new PolicyQuery(labels[0].Query)).PHint, 0, 1);
    }

    private string CopyBundle(string from)
    {
        var directory = fixture.TempDirectory("copy");
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        }

        return directory;
    }
}
