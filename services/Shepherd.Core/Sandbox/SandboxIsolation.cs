namespace Shepherd.Core.Sandbox;

/// <summary>What isolation this machine allowed, found once per <see cref="PythonSandbox"/> by probing.</summary>
/// <param name="NetworkIsolation">A fresh network namespace (no interfaces up, not even loopback).
/// When false, sockets, subprocesses and exec are refused by a Python audit hook instead, which a determined
/// program can get around (ctypes); the verdict reports it.</param>
/// <param name="PidNamespace">A fresh PID namespace: the supervisor is PID 1 and every process the program
/// starts dies with it. When false, only the program's process group is killed at the end.</param>
/// <param name="UnprivilegedUid">The program runs under its own unprivileged uid (only when the host runs
/// as root). When false it runs as the host user: RLIMIT_NPROC is not enforced for root and file
/// permissions do not protect the host; the audit hook still refuses writes outside the work directory.</param>
/// <param name="PythonPath">The python3 executable used.</param>
public sealed record SandboxIsolation(bool NetworkIsolation, bool PidNamespace, bool UnprivilegedUid, string PythonPath)
{
    public override string ToString() =>
        $"network-namespace={NetworkIsolation} pid-namespace={PidNamespace} unprivileged-uid={UnprivilegedUid} python={PythonPath}";
}
