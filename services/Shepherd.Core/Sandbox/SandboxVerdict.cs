namespace Shepherd.Core.Sandbox;

/// <summary>How a sandboxed run ended. Exactly one applies; <see cref="SandboxResult.Cause"/> says why.</summary>
public enum SandboxVerdict
{
    /// <summary>The program ran to its end without an exception: every test passed.</summary>
    Pass,

    /// <summary>The program raised (a failed assert, an error, a syntax error) or exited before its end.</summary>
    Fail,

    /// <summary>The wall-clock or the CPU-time limit was reached; the whole process tree was killed.</summary>
    Timeout,

    /// <summary>An allocation failed at the address-space limit (MemoryError).</summary>
    Memory,

    /// <summary>The program died from a signal, wrote past the output cap, or ended without reporting.</summary>
    Crash,

    /// <summary>The sandbox itself failed (no python3, no temp dir, a setup step); says nothing about the program.</summary>
    SandboxError,
}
