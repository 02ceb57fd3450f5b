namespace Shepherd.ServiceDefaults;

/// <summary>Histogram bucket boundaries shared by every service, so dashboards can compare stages across services.</summary>
public static class MetricBuckets
{
    /// <summary>Latencies in seconds, 1 ms to 2 minutes (a model call on a loaded CPU can take tens of seconds).</summary>
    public static IReadOnlyList<double> Seconds { get; } = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    /// <summary>Counts such as batch sizes: powers of two up to 256.</summary>
    public static IReadOnlyList<int> Counts { get; } = [1, 2, 4, 8, 16, 32, 64, 128, 256];
}
