using Shepherd.Core.Configuration;
using Shepherd.TestSupport;

namespace Shepherd.Cli.Tests;

/// <summary>scripts/fetch-fixtures.sh on a machine that cannot reach the fixtures' sources and has no ../shared.</summary>
public sealed class FetchFixturesTests
{
    [SkippableFact]
    public async Task WithoutNetworkItNamesTheFixturesWhereItLookedAndTheVariablesThatPointAtCopies()
    {
        Skip.If(ExternalTool.Find("bash") is null || ExternalTool.Find("curl") is null, "needs bash and curl");
        var script = Path.Combine(ShepherdPaths.RepositoryRoot!, "scripts", "fetch-fixtures.sh");
        // A copy of the script in a folder with no ../shared beside it; every download goes to a closed port.
        var sandbox = Directory.CreateTempSubdirectory("shepherd-offline-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(sandbox, "repo", "scripts"));
            File.Copy(script, Path.Combine(sandbox, "repo", "scripts", "fetch-fixtures.sh"));
            var unreachable = "http://127.0.0.1:" + Shepherd.Cli.Hosting.ServiceProcess.FreePort();

            var run = await ExternalTool.RunAsync(
                "bash",
                [Path.Combine(sandbox, "repo", "scripts", "fetch-fixtures.sh")],
                TimeSpan.FromMinutes(2),
                workingDirectory: sandbox,
                environment: new Dictionary<string, string?>
                {
                    ["SHEPHERD_MODELS"] = null,
                    ["SHEPHERD_DATA"] = null,
                    ["HTTPS_PROXY"] = unreachable,
                    ["https_proxy"] = unreachable,
                    ["NO_PROXY"] = null,
                    ["no_proxy"] = null,
                });

            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("could not download 6 fixture file(s)", run.StdErr);
            Assert.Contains("models/stories260K.gguf", run.StdErr);
            Assert.Contains("data/gsm8k/test.jsonl", run.StdErr);
            Assert.Contains(Path.Combine(sandbox, "shared") + "/{models,data}  (absent)", run.StdErr);
            Assert.Contains(Path.Combine(sandbox, "repo", ".shepherd") + "/{models,data}", run.StdErr);
            Assert.Contains("SHEPHERD_MODELS=", run.StdErr);
            Assert.Contains("SHEPHERD_DATA=", run.StdErr);
        }
        finally
        {
            Directory.Delete(sandbox, recursive: true);
        }
    }
}
