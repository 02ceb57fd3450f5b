using System.Diagnostics.Metrics;
using Shepherd.ServiceDefaults;

namespace Shepherd.Slm.Inference;

/// <summary>
/// The decode loop as an operator (and the HPA) sees it (meter "Shepherd.Slm"): requests waiting for a slot (the
/// autoscaling signal: the slm is bound by its decode queue, not by CPU), requests and sequences in flight, queue,
/// prefill and decode latency per request, and tokens generated.
/// </summary>
public sealed class SlmMetrics
{
    public const string MeterName = "Shepherd.Slm";

    private readonly Histogram<double> _queue;
    private readonly Histogram<double> _prefill;
    private readonly Histogram<double> _decode;
    private readonly Counter<long> _generated;
    private readonly Counter<long> _promptTokens;

    public SlmMetrics(IMeterFactory meters, GenerationEngine engine, Model.LlamaModel model)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("shepherd.slm.queue.length", () => engine.QueuedRequests, "{request}", "Requests waiting for a sequence slot (scale on this, per pod)");
        meter.CreateObservableGauge("shepherd.slm.requests.active", () => engine.ActiveRequests, "{request}", "Requests admitted to the decode loop");
        meter.CreateObservableGauge("shepherd.slm.sequences.active", () => engine.ActiveSequences, "{sequence}", "Sequences decoding (a request of n samples holds n)");
        meter.CreateObservableGauge("shepherd.slm.sequences.max", () => model.MaxSequences, "{sequence}", "Sequence slots (Slm:MaxSequences)");
        var seconds = new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricBuckets.Seconds };
        _queue = meter.CreateHistogram<double>("shepherd.slm.queue.duration", "s", "Time a request waited before its prefill started", advice: seconds);
        _prefill = meter.CreateHistogram<double>("shepherd.slm.prefill.duration", "s", "Prefill time of a request (its prompt, shared by its n samples)", advice: seconds);
        _decode = meter.CreateHistogram<double>("shepherd.slm.decode.duration", "s", "Decode time of a request, prefill done to last token", advice: seconds);
        _generated = meter.CreateCounter<long>("shepherd.slm.generated.tokens", "{token}", "Tokens generated, every sample counted");
        _promptTokens = meter.CreateCounter<long>("shepherd.slm.prompt.tokens", "{token}", "Prompt tokens prefilled");
    }

    public void Generated(GenerationResult result)
    {
        _queue.Record(result.QueueMs / 1000);
        _prefill.Record(result.PrefillMs / 1000);
        _decode.Record(result.DecodeMs / 1000);
        _promptTokens.Add(result.PromptTokens);
        _generated.Add(result.Completions.Sum(c => (long)c.GeneratedTokens));
    }
}
