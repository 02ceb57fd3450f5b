using Shepherd.Benchmarks;

var which = args.Length > 0 ? args[0] : "slm";
var rest = args.Skip(1).ToArray();
switch (which)
{
    case "slm":
        return await SlmBench.RunAsync(rest, Console.Out);
    case "edge":
        return await EdgeBench.RunAsync(rest, Console.Out);
    case "replay": return await ReplayBench.RunAsync(rest, Console.Out);
    case "answer":
        return await AnswerBench.RunAsync(rest, Console.Out);
    case "openai":
        return await AnswerBench.RunAsync(rest, Console.Out, openAi: true);
    case "load":
        return await LoadBench.RunAsync(rest, Console.Out);
    case "ledger":
        return await LedgerBench.RunAsync(rest, Console.Out);
    case "label-cost":
        return await LabelCostBench.RunAsync(rest, Console.Out);
    default:
        Console.Error.WriteLine($"unknown benchmark '{which}'; available: slm, edge, answer, openai, replay, load, ledger, label-cost");
        return 2;
}
