using System.Diagnostics.Metrics;
using Shepherd.ServiceDefaults;

namespace Shepherd.Policy.Batching;

/// <summary>Predict latency per call and the size of every encoder run (meter "Shepherd.Policy").</summary>
public sealed class PolicyMetrics
{
    public const string MeterName = "Shepherd.Policy";

    private readonly Histogram<double> _predict;
    private readonly Histogram<int> _batch;

    public PolicyMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _predict = meter.CreateHistogram<double>("shepherd.policy.predict.duration", "s", "Latency of a Predict or PredictBatch call, queue wait included",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricBuckets.Seconds });
        _batch = meter.CreateHistogram<int>("shepherd.policy.batch.size", "{query}", "Queries per encoder run (1 for a lone caller; more when concurrent calls were folded)",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = MetricBuckets.Counts });
    }

    public void Predicted(string rpc, string mode, TimeSpan elapsed) =>
        _predict.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("rpc", rpc), new KeyValuePair<string, object?>("mode", mode));

    public void Ran(int queries) => _batch.Record(queries);
}
