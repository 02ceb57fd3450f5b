using System.Globalization;
using System.Text.RegularExpressions;

namespace Shepherd.EndToEnd.Tests.Telemetry;

/// <summary>One sample of a Prometheus text exposition: a name, its labels and its value.</summary>
public sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A scrape of a /metrics endpoint in Prometheus' text format, parsed; sums samples whose labels match.</summary>
public sealed partial class PrometheusScrape(string text, IReadOnlyList<MetricSample> samples)
{
    public string Text { get; } = text;

    public IReadOnlyList<MetricSample> Samples { get; } = samples;

    public static async Task<PrometheusScrape> FetchAsync(HttpClient http, Uri url)
    {
        var text = await http.GetStringAsync(url);
        return Parse(text);
    }

    public static PrometheusScrape Parse(string text)
    {
        var samples = new List<MetricSample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal));
            var raw = match.Groups["value"].Value;
            var value = raw switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new MetricSample(match.Groups["name"].Value, labels, value));
        }

        return new PrometheusScrape(text, samples);
    }

    public bool Has(string name) => Samples.Any(s => s.Name == name);

    /// <summary>The sum of every sample named <paramref name="name"/> whose labels include all of <paramref name="labels"/> ("k=v").</summary>
    public double Sum(string name, params string[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l[..l.IndexOf('=')], out var v) && v == l[(l.IndexOf('=') + 1)..]))
            .Sum(s => s.Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
