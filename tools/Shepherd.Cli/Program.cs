using System.CommandLine;
using Shepherd.Cli.Commands;

var root = new RootCommand("shepherd: pay for hints, not answers")
{
    SlmCommand.Create(),
    UpCommand.Create(),
    AskCommand.Create(),
    TrainCommand.Create(),
    GradeCommand.Create(),
    LabelCommand.Create(),
    ReproduceCommand.Create(),
    CalibrateCommand.Create(),
    EvalCommand.Create(),
};

try
{
    // Expected failures print one line (below); System.CommandLine's handler would print a stack trace.
    // No response files: `grade --output @file` reads the file itself (as its help says); System.CommandLine would
    // otherwise splice the file's words in as arguments.
    var parsing = new ParserConfiguration { ResponseFileTokenReplacer = null };
    return await root.Parse(args, parsing).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or Grpc.Core.RpcException or ArgumentException
                               or IOException or Shepherd.Core.Datasets.DatasetFormatException or KeyNotFoundException)
{
    Console.Error.WriteLine($"shepherd: {ex.Message}");
    return 1;
}
