using System.Diagnostics;
using Shepherd.Core.Configuration;

namespace Shepherd.Container.Tests;

/// <summary>
/// Finds the Docker API (DOCKER_HOST, podman's socket, Docker's socket) and the images the tests need; builds them
/// with deploy/build-images.sh when missing. <see cref="SkipReason"/> says why the tests cannot run here.
/// </summary>
public static class ContainerEngine
{
    public const string PodmanSocket = "/run/podman/podman.sock";
    public const string DockerSocket = "/var/run/docker.sock";
    /// <summary>The images' tag: SHEPHERD_IMAGE_TAG (deploy/build-images.sh's TAG), default latest.</summary>
    public static readonly string Tag = Environment.GetEnvironmentVariable("SHEPHERD_IMAGE_TAG") is { Length: > 0 } tag ? tag : "latest";

    public static readonly string[] Images = ["slm", "policy", "orchestrator", "edge", "postgres"];

    private static readonly Lazy<string?> Endpoint = new(FindEndpoint);

    /// <summary>Null when a Docker API answers; otherwise the reason to skip.</summary>
    public static string? SkipReason => Endpoint.Value is null
        ? $"no container engine: DOCKER_HOST is unset and neither {PodmanSocket} (podman system service) nor {DockerSocket} exists; .ci/run installs podman and starts its socket"
        : ShepherdPaths.FixtureModel is null ? "no stories260K.gguf fixture model (scripts/fetch-fixtures.sh)" : null;

    public static string ImageName(string name) => $"shepherd/{name}:{Tag}";

    private static string? FindEndpoint()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(host))
        {
            host = File.Exists(PodmanSocket) ? "unix://" + PodmanSocket : File.Exists(DockerSocket) ? "unix://" + DockerSocket : null;
            if (host is null)
            {
                return null;
            }

            Environment.SetEnvironmentVariable("DOCKER_HOST", host);
        }

        // Ryuk's image comes from a registry that these machines cannot reach; every test disposes what it starts.
        if (host.Contains("podman", StringComparison.Ordinal) || Environment.GetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED") is null)
        {
            Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        }

        return host;
    }

    /// <summary>Builds the images that are missing (all of them when SHEPHERD_REBUILD_IMAGES=1).</summary>
    public static async Task EnsureImagesAsync(TimeSpan timeout)
    {
        var engine = Cli();
        var rebuild = Environment.GetEnvironmentVariable("SHEPHERD_REBUILD_IMAGES") == "1";
        var missing = new List<string>();
        foreach (var image in Images)
        {
            if (rebuild || await RunAsync(engine, ["image", "inspect", ImageName(image)], TimeSpan.FromSeconds(30)) != 0)
            {
                missing.Add(image);
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        var script = Path.Combine(ShepherdPaths.RepositoryRoot!, "deploy", "build-images.sh");
        var status = await RunAsync(script, missing, timeout, new Dictionary<string, string> { ["TAG"] = Tag });
        if (status != 0)
        {
            throw new InvalidOperationException($"deploy/build-images.sh {string.Join(' ', missing)} failed with exit code {status}");
        }
    }

    private static string Cli() =>
        Environment.GetEnvironmentVariable("CONTAINER_ENGINE")
        ?? (File.Exists("/usr/bin/podman") ? "podman" : "docker");

    private static async Task<int> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {timeout}");
        }

        await Task.WhenAll(stdout, stderr);
        return process.ExitCode;
    }
}
