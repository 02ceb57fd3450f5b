using System.Runtime.InteropServices;

/// <summary>
/// Runs inside a service that <c>shepherd up</c> (or <c>ask</c>, <c>reproduce</c>) started, before its Main: when
/// the CLI process that started it disappears — even by SIGKILL, which leaves the CLI no chance to stop its
/// children — the service stops too and frees its port. The CLI passes its pid in SHEPHERD_PARENT_PID; a watch
/// thread compares it with getppid(), which changes when the parent dies and the child is re-parented. The service
/// gets SIGTERM (a graceful stop), then SIGKILL if it is still there after a grace period.
/// </summary>
/// <remarks>
/// Not prctl(PR_SET_PDEATHSIG): Linux ties that signal to the parent's *thread* that forked the child, and .NET
/// starts processes from pool threads that retire when idle, which would kill healthy services.
/// The type must be a global <c>StartupHook</c> with a static <c>Initialize</c>: that is the runtime's contract.
/// </remarks>
#pragma warning disable CA1050 // The runtime looks the hook up by this exact global name.
internal static class StartupHook
#pragma warning restore CA1050
{
    public const string ParentVariable = "SHEPHERD_PARENT_PID";
    private const int Sigkill = 9;
    private const int Sigterm = 15;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    public static void Initialize()
    {
        var parent = Environment.GetEnvironmentVariable(ParentVariable);
        // Processes this service starts must not inherit the watch (their parent is the service, not the CLI).
        Environment.SetEnvironmentVariable(ParentVariable, null);
        Environment.SetEnvironmentVariable("DOTNET_STARTUP_HOOKS", null);
        if (OperatingSystem.IsWindows() || !int.TryParse(parent, out var parentPid) || parentPid <= 1)
        {
            return;
        }

        new Thread(() => Watch(parentPid)) { IsBackground = true, Name = "shepherd-parent-watch" }.Start();
    }

    private static void Watch(int parentPid)
    {
        while (getppid() == parentPid)
        {
            Thread.Sleep(Poll);
        }

        Console.Error.WriteLine($"shepherd-parent-watch: the process that started this service (pid {parentPid}) is gone; stopping.");
        _ = kill(Environment.ProcessId, Sigterm);
        Thread.Sleep(Grace);
        _ = kill(Environment.ProcessId, Sigkill);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getppid();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
