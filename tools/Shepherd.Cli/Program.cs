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
    CalibrateCommand.Create(), EvalCommand.Create(),
};

try
{
    return await root.Parse(args).InvokeAsync();
}
catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or Grpc.Core.RpcException)
{
    Console.Error.WriteLine($"shepherd: {ex.Message}");
    return 1;
}
