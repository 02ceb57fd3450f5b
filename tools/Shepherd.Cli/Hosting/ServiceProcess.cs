using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Shepherd.Core.Configuration;

namespace Shepherd.Cli.Hosting;

/// <summary>
/// One Shepherd service started as a real child process on 127.0.0.1 from its build output, waited on until its
/// gRPC health check answers SERVING, and stopped (with its whole process tree) on dispose.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _log = [];

    private ServiceProcess(string name, Process process, Uri address)
    {
        Name = name;
        _process = process;
        Address = address;
    }

    public string Name { get; }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The built assembly of a service project, e.g. "Shepherd.Slm".</summary>
    public static string FindServiceAssembly(string project)
    {
        var root = ShepherdPaths.RepositoryRoot ?? throw new InvalidOperationException("Shepherd.sln not found above the working directory; run from the repository");
        foreach (var configuration in new[] { "Release", "Debug" })
        {
            var dll = Path.Combine(root, "services", project, "bin", configuration, "net10.0", project + ".dll");
            if (File.Exists(dll))
            {
                return dll;
            }
        }

        throw new InvalidOperationException($"{project} is not built; run `dotnet build -c Release Shepherd.sln` first");
    }

    public static async Task<ServiceProcess> StartAsync(string project, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, CancellationToken cancellationToken, int? port = null)
    {
        var dll = FindServiceAssembly(project);
        var address = new Uri($"http://127.0.0.1:{port ?? FreePort()}");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ShepherdPaths.RepositoryRoot!,
        };
        psi.ArgumentList.Add(dll);
        // The service's own appsettings.json sits beside its assembly; the working directory stays the repo root.
        psi.ArgumentList.Add("--contentRoot");
        psi.ArgumentList.Add(Path.GetDirectoryName(dll)!);
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add(address.ToString().TrimEnd('/'));
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        WatchParent(psi);
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {project}");
        var service = new ServiceProcess(project, process, address);
        process.OutputDataReceived += (_, e) => service.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => service.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await service.WaitHealthyAsync(timeout, cancellationToken);
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        return service;
    }

    /// <summary>The exit code once the process has exited; null while it runs.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Completes when the process exits, for whatever reason.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>
    /// Makes the child stop when this process dies, even by SIGKILL: the ParentWatch startup hook (an assembly
    /// beside this one) runs in the child and watches this pid. Without it (a trimmed copy) children outlive a killed
    /// CLI, as before.
    /// </summary>
    public static void WatchParent(ProcessStartInfo psi)
    {
        var hook = Path.Combine(AppContext.BaseDirectory, "Shepherd.ParentWatch.dll");
        if (File.Exists(hook) && !OperatingSystem.IsWindows())
        {
            psi.Environment["DOTNET_STARTUP_HOOKS"] = hook;
            psi.Environment["SHEPHERD_PARENT_PID"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public string RecentLog()
    {
        lock (_log)
        {
            return string.Join('\n', _log.TakeLast(20));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Add(line);
            if (_log.Count > 200)
            {
                _log.RemoveAt(0);
            }
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(Address);
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} during start-up:\n{RecentLog()}");
            }

            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException)
            {
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"{Name} did not become healthy within {timeout}:\n{RecentLog()}");
    }
}
