namespace Shepherd.Core.Sandbox;

/// <summary>Limits and parallelism of <see cref="PythonSandbox"/>. The defaults suit HumanEval and MBPP.</summary>
public sealed record SandboxOptions
{
    /// <summary>python3 to run; null resolves <c>python3</c> on PATH to its real executable (pyenv shims need
    /// their own environment, which the sandbox scrubs).</summary>
    public string? PythonPath { get; init; }

    /// <summary>Wall-clock limit of one run, enforced by the supervisor, with a host-side backstop.</summary>
    public TimeSpan WallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>CPU-time limit (RLIMIT_CPU, whole seconds, at least 1).</summary>
    public int CpuSeconds { get; init; } = 10;

    /// <summary>Address-space limit (RLIMIT_AS) of the program's process.</summary>
    public long MemoryBytes { get; init; } = 1L << 30;

    /// <summary>Processes the program may run at once (RLIMIT_NPROC of its own unprivileged uid).</summary>
    public int MaxProcesses { get; init; } = 32;

    /// <summary>Largest file the program may write (RLIMIT_FSIZE).</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;

    /// <summary>Captured stdout + stderr; past it the run is killed and reported as a crash.</summary>
    public int OutputLimitBytes { get; init; } = 1 << 20;

    /// <summary>Runs allowed at the same time.</summary>
    public int MaxParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Use <c>unshare</c> for fresh network and PID namespaces when permitted.</summary>
    public bool UseNamespaces { get; init; } = true;

    /// <summary>When running as root, run each parallel slot's program as uid/gid <c>BaseUid + slot</c>, so
    /// RLIMIT_NPROC applies (root ignores it) and file permissions protect the host.</summary>
    public int BaseUid { get; init; } = 61000;

    /// <summary>Where per-run temporary directories are made; null is the system temp folder.</summary>
    public string? TempRoot { get; init; }

    internal void Validate()
    {
        if (WallTimeout <= TimeSpan.Zero || CpuSeconds < 1 || MemoryBytes < (32L << 20) || MaxProcesses < 1
            || MaxFileBytes < 0 || OutputLimitBytes < 1024 || MaxParallelism < 1 || BaseUid < 1)
        {
            throw new ArgumentException($"Invalid sandbox options: {this}");
        }
    }
}
