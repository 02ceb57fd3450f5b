using System.CommandLine;
using Shepherd.Cli.Commands;

namespace Shepherd.Cli.Tests;

/// <summary>
/// Every address option parses the address a user types (`up` prints `ask --address http://127.0.0.1:5100/`),
/// and refuses anything else with a message that says what it wants.
/// </summary>
public sealed class AddressOptionTests
{
    public static TheoryData<string, string> Commands => new()
    {
        { "ask", "--address" },
        { "eval", "--address" },
        { "slm", "--address" },
        { "label", "--slm" },
    };

    private static Command Create(string name) => name switch
    {
        "ask" => AskCommand.Create(),
        "eval" => EvalCommand.Create(),
        "slm" => SlmCommand.Create(),
        "label" => LabelCommand.Create(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void AnHttpAddressParsesToItsUri(string name, string option)
    {
        string[] question = name == "ask" ? ["What is 2 + 2?"] : [];

        var parse = Create(name).Parse([.. question, option, "http://127.0.0.1:5100/"]);

        // Other required arguments may be missing here; none of the errors may be about the address.
        Assert.DoesNotContain(parse.Errors, e => e.Message.Contains(option, StringComparison.Ordinal) || e.Message.Contains("System.Uri", StringComparison.Ordinal));
        Assert.Equal(new Uri("http://127.0.0.1:5100/"), parse.GetValue<Uri?>(option));
    }

    [Theory]
    [InlineData("127.0.0.1:5100")]
    [InlineData("ftp://127.0.0.1/")]
    [InlineData("not a url")]
    public void AnythingElseIsRefusedNamingTheOptionAndAnExample(string value)
    {
        var parse = AskCommand.Create().Parse(["What is 2 + 2?", "--address", value]);

        var error = Assert.Single(parse.Errors);
        Assert.Contains("--address must be an absolute http:// or https:// address", error.Message);
        Assert.Contains(value, error.Message);
    }
}
