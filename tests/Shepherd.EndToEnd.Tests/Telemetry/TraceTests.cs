using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Shepherd.Contracts.V1;
using Xunit.Abstractions;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests.Telemetry;

/// <summary>
/// One W3C trace across the real processes: the client's traceparent reaches the edge, the edge's forward reaches an
/// orchestrator replica, and the answer's stages reach the policy-service, the slm-service and the LLM (the Groq
/// stand-in, which records the traceparent it received). Every process exports its spans over OTLP/HTTP to a
/// collector in this test process; the test rebuilds the span tree from the parent ids.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TraceTests(EndToEndStack stack, ITestOutputHelper output)
{
    private const string Question = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";

    [SkippableFact]
    public async Task OneAnswerIsOneTraceFromTheEdgeThroughTheOrchestratorToPolicySlmAndTheLlm()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var clientSpanId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var headers = Team.Headers;
        headers.Add("traceparent", $"00-{traceId}-{clientSpanId}-01");
        var query = UniqueQuery(Question);

        var response = await stack.Client.AnswerAsync(
            new AnswerRequest { Query = query, Task = TaskKind.Gsm8K, Strategy = Strategy.Proactive, Alpha = 0, EtaHint = 100_000, MaxHintTokens = 3 },
            headers, deadline: DateTime.UtcNow.AddSeconds(60));
        var spans = await stack.Collector.TraceAsync(traceId, s =>
            s.Any(x => x.Service == "slm" && x.Kind == CollectedSpan.Server)
            && s.Any(x => x.Service == "policy" && x.Kind == CollectedSpan.Server)
            && s.Any(x => x.Service == "edge" && x.Kind == CollectedSpan.Server)
            && s.Any(x => x.Name == "shepherd.answer"), TimeSpan.FromSeconds(20));
        output.WriteLine(Tree(spans, clientSpanId));

        Assert.Equal(["policy.proactive", "llm.hint", "slm.with_hint"], response.Path);
        var byId = spans.ToDictionary(s => s.SpanId);
        var edge = Assert.Single(spans, s => s.Service == "edge" && s.Kind == CollectedSpan.Server);
        Assert.Equal(clientSpanId, edge.ParentSpanId);
        var orchestrator = Assert.Single(spans, s => s.Service == "orchestrator" && s.Kind == CollectedSpan.Server);
        Assert.Equal("edge", byId[orchestrator.ParentSpanId].Service);
        var answer = Assert.Single(spans, s => s.Name == "shepherd.answer");
        Assert.Equal("proactive", answer.Attributes["shepherd.strategy"]);
        Assert.Equal(string.Join('>', response.Path), answer.Attributes["shepherd.path"]);
        Assert.True(Descends(answer, orchestrator, byId), "the answer span is under the orchestrator's server span");
        foreach (var stage in response.Path)
        {
            var span = Assert.Single(spans, s => s.Name == $"shepherd.stage {stage}");
            Assert.Equal(answer.SpanId, span.ParentSpanId);
        }

        var policy = Assert.Single(spans, s => s.Service == "policy" && s.Kind == CollectedSpan.Server);
        Assert.True(Descends(policy, byId.Values.Single(s => s.Name == "shepherd.stage policy.proactive"), byId), "policy's server span is under the policy stage");
        var slm = Assert.Single(spans, s => s.Service == "slm" && s.Kind == CollectedSpan.Server);
        Assert.True(Descends(slm, byId.Values.Single(s => s.Name == "shepherd.stage slm.with_hint"), byId), "slm's server span is under the slm.with_hint stage");

        // The LLM call: the Groq stand-in got this trace's traceparent, whose parent is the orchestrator's client span under llm.hint.
        var llmTraceparent = Assert.Single(stack.Replicas.SelectMany(r => r.Groq.Traceparents), t => t.Contains(traceId, StringComparison.Ordinal));
        var llmParent = byId[llmTraceparent.Split('-')[2]];
        Assert.Equal("orchestrator", llmParent.Service);
        Assert.Equal(CollectedSpan.Client, llmParent.Kind);
        Assert.True(Descends(llmParent, byId.Values.Single(s => s.Name == "shepherd.stage llm.hint"), byId), "the LLM call is under the llm.hint stage");
    }

    private static bool Descends(CollectedSpan span, CollectedSpan ancestor, IReadOnlyDictionary<string, CollectedSpan> byId)
    {
        for (var at = span; byId.TryGetValue(at.ParentSpanId, out var parent); at = parent)
        {
            if (parent.SpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    private static string Tree(IReadOnlyList<CollectedSpan> spans, string rootParent)
    {
        var text = new StringBuilder($"trace of {spans.Count} spans:\n");
        var children = spans.ToLookup(s => s.ParentSpanId);
        void Write(string parent, int depth)
        {
            foreach (var span in children[parent])
            {
                text.Append(' ', depth * 2).Append(span).Append('\n');
                Write(span.SpanId, depth + 1);
            }
        }

        Write(rootParent, 0);
        return text.ToString();
    }
}
