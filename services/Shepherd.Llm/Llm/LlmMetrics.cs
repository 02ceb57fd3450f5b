using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Headers;

namespace Shepherd.Llm;

/// <summary>
/// Groq's x-ratelimit-* headers as observable gauges (meter "Shepherd.Orchestrator.Llm"), so an operator sees how
/// close a key runs to its request and token limits.
/// </summary>
public sealed class LlmMetrics : IDisposable
{
    public const string MeterName = "Shepherd.Orchestrator.Llm";

    private static readonly string[] Headers =
    [
        "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
    ];

    private readonly Meter _meter = new(MeterName);
    private readonly ConcurrentDictionary<(string Model, string Header), double> _latest = new();

    public LlmMetrics()
    {
        foreach (var header in Headers)
        {
            var name = "shepherd.llm." + header["x-".Length..].Replace('-', '.');
            var unit = header.Contains("reset", StringComparison.Ordinal) ? "s" : "{count}";
            _meter.CreateObservableGauge(name, () => Observe(header), unit);
        }
    }

    /// <summary>The last value seen for a header (reset headers in seconds), for tests and diagnostics.</summary>
    public double? Latest(string model, string header) => _latest.TryGetValue((model, header), out var v) ? v : null;

    public void RecordRateLimits(string model, HttpResponseHeaders headers)
    {
        foreach (var header in Headers)
        {
            if (headers.TryGetValues(header, out var values) && ParseValue(values.First()) is { } value)
            {
                _latest[(model, header)] = value;
            }
        }
    }

    /// <summary>Numbers, or Groq's durations such as "2m59.56s", "7.66s" or "120ms", in seconds.</summary>
    public static double? ParseValue(string raw)
    {
        raw = raw.Trim();
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain))
        {
            return plain;
        }

        double total = 0;
        var number = "";
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (char.IsDigit(c) || c == '.')
            {
                number += c;
                continue;
            }

            if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return null;
            }

            number = "";
            if (c == 'm' && i + 1 < raw.Length && raw[i + 1] == 's')
            {
                total += value / 1000;
                i++;
            }
            else
            {
                total += c switch { 'h' => value * 3600, 'm' => value * 60, 's' => value, _ => double.NaN };
            }
        }

        return number.Length == 0 && double.IsFinite(total) ? total : null;
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<double>> Observe(string header) =>
        _latest.Where(kv => kv.Key.Header == header)
            .Select(kv => new Measurement<double>(kv.Value, new KeyValuePair<string, object?>("model", kv.Key.Model)));
}
