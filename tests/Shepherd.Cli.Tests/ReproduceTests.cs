using System.Text.Json;
using Shepherd.Core.Configuration;
using Shepherd.TestSupport;

namespace Shepherd.Cli.Tests;

/// <summary>`shepherd reproduce` with small limits, as CI runs it: the table, the CSV, the JSON and the PNG.</summary>
public sealed class ReproduceTests
{
    [SkippableFact]
    public async Task ReproduceWritesTheTableCsvJsonAndPlot()
    {
        Skip.If(ShepherdPaths.FixtureModel is null || ShepherdPaths.DataDirectory is null, "needs ../shared (stories260K.gguf and GSM8K)");
        var cli = Path.Combine(AppContext.BaseDirectory, "shepherd.dll");
        var output = Directory.CreateTempSubdirectory("shepherd-reproduce-").FullName;
        try
        {
            var run = await ExternalTool.RunAsync(
                "dotnet",
                [cli, "reproduce", "--dataset", "gsm8k", "--train", "4", "--val", "2", "--test", "2", "--out", output, "--slm-max-tokens", "16", "--max-answer-tokens", "48"],
                TimeSpan.FromMinutes(8),
                environment: new Dictionary<string, string?> { ["GROQ_API_KEY"] = null, ["COLUMNS"] = "200" });

            Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
            Assert.Contains("Stand-in models", run.StdOut);

            var markdown = await File.ReadAllTextAsync(Path.Combine(output, "results.md"));
            Assert.Contains("STAND-IN MODELS", markdown);
            foreach (var strategy in new[] { "slm", "llm", "route", "cascade-abc", "cascade-scorer", "proactive", "reactive", "oracle" })
            {
                Assert.Contains($"| {strategy} ", markdown);
            }

            var csv = (await File.ReadAllLinesAsync(Path.Combine(output, "results.csv"))).Where(l => l.Length > 0).ToArray();
            var header = csv[0].Split(',');
            Assert.Contains("strategy", header);
            Assert.Contains(header, h => h.StartsWith("cost", StringComparison.Ordinal));
            Assert.Contains(header, h => h.StartsWith("accuracy", StringComparison.Ordinal));
            Assert.True(csv.Length >= 9, string.Join('\n', csv));
            Assert.All(csv.Skip(1), line => Assert.Equal(header.Length, line.Split(',').Length));

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json")));
            Assert.Equal(2, json.RootElement.GetProperty("queries").GetInt32());

            var png = await File.ReadAllBytesAsync(Path.Combine(output, "frontier.png"));
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
            Assert.True(png.Length > 10_000);

            Assert.Equal(4, File.ReadAllLines(Path.Combine(output, "labels-train.jsonl")).Length);
            Assert.True(File.Exists(Path.Combine(output, "bundle-proactive", "heads.onnx")));
            Assert.True(File.Exists(Path.Combine(output, "bundle-reactive", "policy.json")));

            // HumanEval as in the paper: zero-shot with the GSM8K-trained policy; only its test split is labelled.
            var humanEval = Path.Combine(output, "humaneval");
            var zeroShot = await ExternalTool.RunAsync(
                "dotnet",
                [cli, "reproduce", "--dataset", "humaneval", "--policy-from", output, "--test", "2", "--out", humanEval, "--slm-max-tokens", "16", "--max-answer-tokens", "48"],
                TimeSpan.FromMinutes(4),
                environment: new Dictionary<string, string?> { ["GROQ_API_KEY"] = null, ["COLUMNS"] = "200" });

            Assert.True(zeroShot.ExitCode == 0, zeroShot.StdOut + zeroShot.StdErr);
            Assert.Contains("zero-shot with the policy trained on GSM8K", zeroShot.StdOut);
            Assert.Equal(["labels-test.jsonl"], Directory.GetFiles(humanEval, "labels-*.jsonl").Select(Path.GetFileName));
            Assert.All(File.ReadAllLines(Path.Combine(humanEval, "labels-test.jsonl")), l => Assert.Contains("\"task\":\"humaneval\"", l, StringComparison.Ordinal));
            Assert.Contains("zero-shot: the policy was trained on GSM8K", await File.ReadAllTextAsync(Path.Combine(humanEval, "results.md")));
            Assert.False(Directory.Exists(Path.Combine(humanEval, "bundle-proactive")));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
