using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Training;

namespace Shepherd.Policy.Tests;

/// <summary>
/// One packaged MiniLM encoder (cached: each synthetic query is encoded once) and one trained bundle per
/// mode, shared by the model, bundle and service tests.
/// </summary>
public sealed class PolicyFixture : IDisposable
{
    public const int LabelCount = 1000;
    public const int LabelSeed = 7;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "shepherd-policy-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Lazy<(CachingTextEncoder Encoder, string Bundle)> _int8;

    public PolicyFixture()
    {
        Encoder = new CachingTextEncoder(OnnxTextEncoder.Create(EncoderSpec.Default));
        ProactiveLabels = SyntheticLabels.Generate(LabelCount, LabelSeed, PolicyMode.Proactive);
        ReactiveLabels = SyntheticLabels.Generate(LabelCount, LabelSeed, PolicyMode.Reactive);
        Proactive = PolicyTrainer.Train(ProactiveLabels, Encoder, Options(PolicyMode.Proactive));
        Reactive = PolicyTrainer.Train(ReactiveLabels, Encoder, Options(PolicyMode.Reactive));
        ProactiveBundle = Path.Combine(_root, "proactive");
        ReactiveBundle = Path.Combine(_root, "reactive");
        Proactive.Save(ProactiveBundle);
        Reactive.Save(ReactiveBundle);
        _int8 = new Lazy<(CachingTextEncoder, string)>(() =>
        {
            var encoder = new CachingTextEncoder(OnnxTextEncoder.Create(EncoderSpec.Default with { Quantization = EncoderQuantization.DynamicInt8 }));
            var bundle = Path.Combine(_root, "proactive-int8");
            PolicyTrainer.Train(ProactiveLabels, encoder, Options(PolicyMode.Proactive)).Save(bundle);
            return (encoder, bundle);
        });
    }

    /// <summary>The packaged MiniLM quantized to int8 at load (cached like <see cref="Encoder"/>), built on first use.</summary>
    public CachingTextEncoder Int8Encoder => _int8.Value.Encoder;

    /// <summary>A proactive bundle trained on the same labels and seed as <see cref="ProactiveBundle"/>, with the int8 encoder.</summary>
    public string Int8ProactiveBundle => _int8.Value.Bundle;

    public CachingTextEncoder Encoder { get; }

    public IReadOnlyList<LabelRecord> ProactiveLabels { get; }

    public IReadOnlyList<LabelRecord> ReactiveLabels { get; }

    public PolicyTrainingResult Proactive { get; }

    public PolicyTrainingResult Reactive { get; }

    public string ProactiveBundle { get; }

    public string ReactiveBundle { get; }

    public static PolicyTrainingOptions Options(PolicyMode mode, int seed = 42) => new() { Mode = mode, Seed = seed };

    /// <summary>A fresh temporary directory under this fixture's root.</summary>
    public string TempDirectory(string name)
    {
        var path = Path.Combine(_root, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose()
    {
        Encoder.Dispose();
        if (_int8.IsValueCreated)
        {
            _int8.Value.Encoder.Dispose();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PolicyCollection : ICollectionFixture<PolicyFixture>
{
    public const string Name = "policy";
}
