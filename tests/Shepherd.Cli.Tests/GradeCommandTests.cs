using Shepherd.TestSupport;

namespace Shepherd.Cli.Tests;

/// <summary>`shepherd grade` as a user types it, through the real command line.</summary>
public sealed class GradeCommandTests
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "shepherd.dll");

    [Fact]
    public async Task OutputAtFileReadsTheFileInsteadOfExpandingItAsAResponseFile()
    {
        var file = Path.GetTempFileName();
        try
        {
            // Words that would be parsed as unknown arguments if the file were spliced into the command line.
            await File.WriteAllTextAsync(file, "Natalia sold 48 clips in April and 24 in May.\nIn total she sold 48 + 24 = 72 clips.\n#### 72\n");

            var run = await ExternalTool.RunAsync("dotnet", [Cli, "grade", "--task", "gsm8k", "--reference", "72", "--output", "@" + file, "--json"], TimeSpan.FromMinutes(2));

            Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
            Assert.Contains("72", run.StdOut);
            Assert.DoesNotContain("Unrecognized", run.StdErr + run.StdOut);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task OutputAtFileThatDisagreesFails()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "She sold 48 + 20 = 68 clips.\n#### 68\n");

            var run = await ExternalTool.RunAsync("dotnet", [Cli, "grade", "--task", "gsm8k", "--reference", "72", "--output", "@" + file], TimeSpan.FromMinutes(2));

            Assert.Equal(1, run.ExitCode);
            Assert.Contains("68", run.StdOut);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
