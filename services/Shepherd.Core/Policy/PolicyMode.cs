namespace Shepherd.Core.Policy;

/// <summary>When the policy is asked (paper.md, "Two modes").</summary>
public enum PolicyMode
{
    /// <summary>Before the SLM runs: query text (and its token count) only.</summary>
    Proactive = 1,

    /// <summary>After K SLM samples disagreed: query text plus the SLM features.</summary>
    Reactive = 2,
}

/// <summary>Wire names of <see cref="PolicyMode"/> in label files and bundles.</summary>
public static class PolicyModes
{
    public static string ToWire(this PolicyMode mode) => mode switch
    {
        PolicyMode.Proactive => "proactive",
        PolicyMode.Reactive => "reactive",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown policy mode."),
    };

    public static PolicyMode Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "proactive" => PolicyMode.Proactive,
        "reactive" => PolicyMode.Reactive,
        _ => throw new FormatException($"Unknown policy mode '{text}': expected 'proactive' or 'reactive'."),
    };
}
