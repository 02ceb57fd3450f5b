using System.Text;

namespace Shepherd.Slm.Inference;

public static class StopSequences
{
    /// <summary>The index where the earliest stop sequence starts at or after <paramref name="from"/>, or null.</summary>
    public static int? Find(StringBuilder text, IReadOnlyList<string> stops, int from)
    {
        if (stops.Count == 0)
        {
            return null;
        }

        var tail = text.ToString(from, text.Length - from);
        int? best = null;
        foreach (var stop in stops)
        {
            var at = tail.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (best is null || at < best))
            {
                best = at;
            }
        }

        return best + from;
    }
}
