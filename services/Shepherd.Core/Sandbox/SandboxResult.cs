namespace Shepherd.Core.Sandbox;

/// <summary>The outcome of one sandboxed run.</summary>
/// <param name="Verdict">How it ended.</param>
/// <param name="Cause">One line saying exactly why (the exception, the limit reached, the signal).</param>
/// <param name="Stdout">Captured standard output (capped).</param>
/// <param name="Stderr">Captured standard error (capped).</param>
/// <param name="Elapsed">Wall-clock time of the whole run, sandbox included.</param>
/// <param name="CpuSeconds">CPU time of the program's process, when known.</param>
/// <param name="Isolation">The isolation in force for this run.</param>
public sealed record SandboxResult(
    SandboxVerdict Verdict,
    string Cause,
    string Stdout,
    string Stderr,
    TimeSpan Elapsed,
    double? CpuSeconds,
    SandboxIsolation? Isolation)
{
    /// <summary>True when the output cap was reached and the run was killed.</summary>
    public bool OutputTruncated { get; init; }

    /// <summary>True only for <see cref="SandboxVerdict.Pass"/>.</summary>
    public bool Passed => Verdict == SandboxVerdict.Pass;

    /// <summary>Whether the network was cut by a namespace (false: only by the audit hook, or unknown).</summary>
    public bool NetworkIsolation => Isolation?.NetworkIsolation ?? false;
}
