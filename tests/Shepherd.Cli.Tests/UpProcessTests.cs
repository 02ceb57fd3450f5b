using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Shepherd.Cli.Commands;
using Shepherd.Core.Configuration;

namespace Shepherd.Cli.Tests;

/// <summary>
/// `shepherd up` as a user runs it, a real process with four real children: killed with SIGKILL it leaves no
/// service and no port behind; a child that dies is named and the rest are stopped.
/// </summary>
public sealed partial class UpProcessTests : IDisposable
{
    // Bounds on waits for processes to start and stop, not on speed: generous for a loaded 2-core machine.
    private static readonly TimeSpan StartBound = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(60);

    private readonly string _home = Directory.CreateTempSubdirectory("shepherd-up-").FullName;
    private readonly List<string> _output = [];
    private Process? _up;

    [SkippableFact]
    public async Task KillingUpWithSigkillStopsEveryServiceAndFreesItsPort()
    {
        Skip.If(ShepherdPaths.FixtureModel is null, "needs stories260K.gguf (SHEPHERD_MODELS or ../shared)");
        var (port, children) = await StartUpAsync();

        _up!.Kill(entireProcessTree: false); // SIGKILL to `up` alone: it gets no chance to stop its children.

        await WaitUntilAsync(() => children.Values.All(IsGone), StopBound, () => $"still running: {string.Join(", ", children.Where(c => !IsGone(c.Value)))}");
        foreach (var p in Enumerable.Range(port, 4))
        {
            Assert.True(IsFree(p), $"port {p} is still taken after `up` was killed");
        }
    }

    [SkippableFact]
    public async Task AServiceThatDiesIsNamedAndTheOthersAreStopped()
    {
        Skip.If(ShepherdPaths.FixtureModel is null, "needs stories260K.gguf (SHEPHERD_MODELS or ../shared)");
        var (_, children) = await StartUpAsync();
        var policy = children["Shepherd.Policy"];

        Process.GetProcessById(policy).Kill();

        using (var bounded = new CancellationTokenSource(StopBound))
        {
            await _up!.WaitForExitAsync(bounded.Token);
        }

        Assert.Equal(UpCommand.ServiceExited, _up.ExitCode);
        Assert.Contains(Output(), line => line.Contains($"Shepherd.Policy (pid {policy}) exited", StringComparison.Ordinal));
        await WaitUntilAsync(() => children.Values.All(IsGone), StopBound, () => "a service outlived `up`");
    }

    public void Dispose()
    {
        if (_up is { HasExited: false })
        {
            _up.Kill(entireProcessTree: true);
            _up.WaitForExit();
        }

        _up?.Dispose();
        Directory.Delete(_home, recursive: true);
    }

    private static bool IsGone(int pid)
    {
        // Gone, or a zombie waiting for whoever inherited it to reap it: either way it holds no port.
        var stat = $"/proc/{pid}/stat";
        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A base port with the three after it free too (`up` uses port .. port + 3).</summary>
    private static int FreePortRun()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Hosting.ServiceProcess.FreePort();
            if (port < 65530 && Enumerable.Range(port, 4).All(IsFree))
            {
                return port;
            }

            Assert.True(attempt < 50, "no four consecutive free ports");
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan bound, Func<string> failure)
    {
        using var cts = new CancellationTokenSource(bound);
        while (!condition())
        {
            Assert.False(cts.IsCancellationRequested, failure());
            await Task.Delay(100, CancellationToken.None);
        }
    }

    [GeneratedRegex(@"^\s*(Shepherd\.\w+)\s+http://\S+\s+pid (\d+)\s*$")]
    private static partial Regex ServiceLine();

    private string[] Output()
    {
        lock (_output)
        {
            return [.. _output];
        }
    }

    private async Task<(int Port, Dictionary<string, int> Children)> StartUpAsync()
    {
        var port = FreePortRun();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ShepherdPaths.RepositoryRoot!,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "shepherd.dll"), "up", "--port", port.ToString(CultureInfo.InvariantCulture), "--home", _home })
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["COLUMNS"] = "200";
        psi.Environment.Remove("GROQ_API_KEY");
        _up = Process.Start(psi)!;
        _up.OutputDataReceived += (_, e) => Capture(e.Data);
        _up.ErrorDataReceived += (_, e) => Capture(e.Data);
        _up.BeginOutputReadLine();
        _up.BeginErrorReadLine();

        await WaitUntilAsync(() => _up.HasExited || (Output().Any(l => l.Contains("Shepherd is up.", StringComparison.Ordinal)) && Output().Count(l => ServiceLine().IsMatch(l)) == 4), StartBound, () => "`up` did not come up:\n" + string.Join('\n', Output()));
        Assert.False(_up.HasExited, "`up` exited during start-up:\n" + string.Join('\n', Output()));
        var children = Output().Select(l => ServiceLine().Match(l)).Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.Equal(4, children.Count);
        Assert.All(children.Values, pid => Assert.False(IsGone(pid)));
        return (port, children);
    }

    private void Capture(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}
