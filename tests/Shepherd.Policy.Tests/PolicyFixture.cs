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
    }

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
