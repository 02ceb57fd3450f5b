using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Encoding;
using WireMode = Shepherd.Contracts.V1.PolicyMode;

namespace Shepherd.Policy.Tests;

/// <summary>The policy-service through a real GrpcChannel to the real host on loopback.</summary>
[Collection(PolicyCollection.Name)]
public sealed class PolicyServiceTests(PolicyFixture fixture) : IAsyncLifetime
{
    private PolicyServiceHostRunner _service = null!;

    public async Task InitializeAsync() =>
        _service = await PolicyServiceHostRunner.StartAsync(
            $"--Policy:BundlePath={fixture.ProactiveBundle}",
            $"--Policy:AdditionalBundlePaths:0={fixture.ReactiveBundle}");

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task PredictAnswersWithTheDecisionRuleOfTheDefaultBundle()
    {
        var manifest = PolicyBundle.ReadManifest(fixture.ProactiveBundle);

        var response = await _service.Client.PredictAsync(new PredictRequest { Query = "Evaluate the definite integral of x^3 * e^(2x) from 0 to 2." });

        Assert.InRange(response.PHint, 0, 1);
        Assert.Equal(WireMode.Proactive, response.Mode);
        Assert.Equal(manifest.BundleId, response.BundleId);
        Assert.Equal(manifest.Alpha, response.Alpha);
        Assert.Equal(manifest.EtaHint, response.EtaHint);
        var expected = PolicyDecisionRule.Decide(response.PHint, response.RawSize, response.Alpha, response.EtaHint, manifest.NMax);
        Assert.Equal(expected.HintTokens, response.HintTokens);
        Assert.Equal(expected.RouteToLlm, response.RouteToLlm);
    }

    [Fact]
    public async Task AlphaAndEtaOverridesApplyPerRequest()
    {
        const string query = "In how many ways can 8 people sit around a round table if 2 particular people refuse to sit next to each other?";

        var always = await _service.Client.PredictAsync(new PredictRequest { Query = query, Alpha = 0, EtaHint = 0 });
        var never = await _service.Client.PredictAsync(new PredictRequest { Query = query, Alpha = 1 });

        Assert.Equal(0, always.Alpha);
        Assert.True(always.HintTokens > 0);
        Assert.True(always.RouteToLlm);
        Assert.Equal(0, never.HintTokens);
        Assert.False(never.RouteToLlm);
    }

    [Fact]
    public async Task ReactiveModeUsesTheReactiveBundleAndItsFeatures()
    {
        var request = new PredictRequest { Query = "Ava has 3 apples. How many apples does Ava have if Ava buys 2 more?", Mode = WireMode.Reactive };
        request.Features[PolicyFeatureNames.MeanEntropy] = 0.2;
        request.Features[PolicyFeatureNames.MeanOutputLength] = 90;

        var response = await _service.Client.PredictAsync(request);

        Assert.Equal(WireMode.Reactive, response.Mode);
        Assert.Equal(PolicyBundle.ReadManifest(fixture.ReactiveBundle).BundleId, response.BundleId);
    }

    [Fact]
    public async Task PredictBatchEqualsSinglePredictsAcrossModes()
    {
        var batch = new PredictBatchRequest();
        var labels = fixture.ReactiveLabels.Where(l => l.Split == LabelSplit.Test).Take(10).ToArray();
        foreach (var (label, i) in labels.Select((l, i) => (l, i)))
        {
            var request = new PredictRequest { Query = label.Query, Mode = i % 2 == 0 ? WireMode.Reactive : WireMode.Unspecified };
            request.Features.Add(label.Features.ToDictionary());
            batch.Requests.Add(request);
        }

        var response = await _service.Client.PredictBatchAsync(batch);

        Assert.Equal(labels.Length, response.Predictions.Count);
        for (var i = 0; i < labels.Length; i++)
        {
            var single = await _service.Client.PredictAsync(batch.Requests[i]);
            Assert.Equal(single.BundleId, response.Predictions[i].BundleId);
            Assert.Equal(single.PHint, response.Predictions[i].PHint, tolerance: 1e-5);
            Assert.Equal(single.RawSize, response.Predictions[i].RawSize, tolerance: 1e-4);
        }
    }

    [Fact]
    public async Task ConcurrentPredictsAreMicroBatchedWithoutMixingAnswers()
    {
        var queries = fixture.ProactiveLabels.Take(24).Select(l => l.Query).ToArray();
        var sequential = new List<PredictResponse>();
        foreach (var query in queries)
        {
            sequential.Add(await _service.Client.PredictAsync(new PredictRequest { Query = query }));
        }

        var concurrent = await Task.WhenAll(queries.Select(q => _service.Client.PredictAsync(new PredictRequest { Query = q }).ResponseAsync));

        for (var i = 0; i < queries.Length; i++)
        {
            Assert.Equal(sequential[i].PHint, concurrent[i].PHint, tolerance: 1e-5);
            Assert.Equal(sequential[i].HintTokens, concurrent[i].HintTokens);
        }
    }

    [Fact]
    public async Task InfoDescribesEveryLoadedBundle()
    {
        var info = await _service.Client.InfoAsync(new PolicyServiceInfoRequest());

        Assert.Equal(WireMode.Proactive, info.DefaultMode);
        Assert.Equal(2, info.Bundles.Count);
        var reactive = info.Bundles.Single(b => b.Mode == WireMode.Reactive);
        Assert.Equal("all-MiniLM-L6-v2", reactive.Encoder);
        Assert.Equal(384, reactive.EmbeddingDim);
        Assert.Equal([PolicyFeatureNames.MeanEntropy, PolicyFeatureNames.MeanOutputLength, PolicyFeatureNames.QueryLength], reactive.Features.Select(f => f.Name));
        Assert.True(reactive.Metrics.ContainsKey("val_auc"));
        Assert.Equal(64, reactive.TrainingDataSha256.Length);
    }

    [Fact]
    public async Task MissingFeatureIsInvalidArgumentNamingTheFeature()
    {
        var request = new PredictRequest { Query = "q", Mode = WireMode.Reactive };
        request.Features[PolicyFeatureNames.MeanEntropy] = 0.4;

        var ex = await Assert.ThrowsAsync<RpcException>(() => _service.Client.PredictAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(PolicyFeatureNames.MeanOutputLength, ex.Status.Detail, StringComparison.Ordinal);
        var badRequest = ex.GetRpcStatus()?.GetDetail<BadRequest>();
        Assert.Equal($"features[{PolicyFeatureNames.MeanOutputLength}]", badRequest?.FieldViolations.Single().Field);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public async Task NonFiniteFeatureIsInvalidArgument(double value)
    {
        var request = new PredictRequest { Query = "q", Mode = WireMode.Reactive };
        request.Features[PolicyFeatureNames.MeanEntropy] = value;
        request.Features[PolicyFeatureNames.MeanOutputLength] = 100;

        var ex = await Assert.ThrowsAsync<RpcException>(() => _service.Client.PredictAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(PolicyFeatureNames.MeanEntropy, ex.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.5, null, "alpha")]
    [InlineData(-0.1, null, "alpha")]
    [InlineData(null, -1, "eta_hint")]
    public async Task OutOfRangeOverridesAreInvalidArgument(double? alpha, int? eta, string field)
    {
        var request = new PredictRequest { Query = "q" };
        if (alpha is { } a)
        {
            request.Alpha = a;
        }

        if (eta is { } e)
        {
            request.EtaHint = e;
        }

        var ex = await Assert.ThrowsAsync<RpcException>(() => _service.Client.PredictAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith(field, ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadRequestInABatchIsNamedByItsIndex()
    {
        var batch = new PredictBatchRequest();
        batch.Requests.Add(new PredictRequest { Query = "fine" });
        batch.Requests.Add(new PredictRequest { Query = "bad", Alpha = 2 });

        var ex = await Assert.ThrowsAsync<RpcException>(() => _service.Client.PredictBatchAsync(batch).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("requests[1].alpha", ex.Status.Detail, StringComparison.Ordinal);
    }
}

/// <summary>Start-up refuses bad configuration and bad bundles, naming the path.</summary>
[Collection(PolicyCollection.Name)]
public sealed class PolicyServiceStartupTests(PolicyFixture fixture)
{
    [Fact]
    public async Task MissingBundleStopsStartupNamingThePath()
    {
        var path = Path.Combine(fixture.TempDirectory("absent"), "no-bundle");
        await using var app = PolicyServiceHostRunner.Build($"--Policy:BundlePath={path}");

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsetBundlePathStopsStartupNamingTheSetting()
    {
        await using var app = PolicyServiceHostRunner.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Policy:BundlePath", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EncoderSessionOptionsComeFromConfiguration()
    {
        await using var app = PolicyServiceHostRunner.Build(
            $"--Policy:BundlePath={fixture.ProactiveBundle}", "--Policy:EncoderThreads=1", "--Policy:EncoderAllowSpinning=true",
            "--Policy:EncoderGraphOptimization=basic", "--Policy:EncoderMemoryArena=false");
        await app.StartAsync();

        var runtime = app.Services.GetRequiredService<IOptions<PolicyServiceOptions>>().Value.EncoderRuntime();

        Assert.Equal(new EncoderRuntimeOptions { IntraOpThreads = 1, AllowSpinning = true, GraphOptimization = EncoderGraphOptimization.Basic, MemoryArena = false }, runtime);
        await app.StopAsync();
    }

    [Fact]
    public async Task EncoderSessionDefaultsDoNotSpin()
    {
        await using var app = PolicyServiceHostRunner.Build($"--Policy:BundlePath={fixture.ProactiveBundle}");

        var runtime = app.Services.GetRequiredService<IOptions<PolicyServiceOptions>>().Value.EncoderRuntime();

        Assert.False(runtime.AllowSpinning);
        Assert.Equal(EncoderGraphOptimization.All, runtime.GraphOptimization);
        Assert.True(runtime.MemoryArena);
    }

    [Fact]
    public async Task CorruptBundleStopsStartupNamingThePath()
    {
        var directory = fixture.TempDirectory("corrupt");
        File.Copy(Path.Combine(fixture.ProactiveBundle, PolicyBundle.ManifestFileName), Path.Combine(directory, PolicyBundle.ManifestFileName));
        File.WriteAllText(Path.Combine(directory, PolicyBundle.HeadsFileName), "not an onnx model");
        await using var app = PolicyServiceHostRunner.Build($"--Policy:BundlePath={directory}");

        var ex = await Assert.ThrowsAsync<PolicyBundleException>(() => app.StartAsync());

        Assert.Contains(directory, ex.Message, StringComparison.Ordinal);
    }
}
