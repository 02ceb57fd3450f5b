using System.CommandLine;
using Shepherd.Cli.Evaluation;
using Shepherd.Core.Evaluation;

namespace Shepherd.Cli.Commands;

/// <summary>
/// Replay's options shared by calibrate and eval: prices in $ per 1M tokens (the paper's Groq prices for the LLM,
/// a free local SLM) and the trials the labels must hold.
/// </summary>
internal sealed class ReplayCliOptions
{
    private readonly Option<double> _llmIn = new("--llm-input-price") { Description = "LLM $ per 1M input tokens", DefaultValueFactory = _ => 0.59 };
    private readonly Option<double> _llmOut = new("--llm-output-price") { Description = "LLM $ per 1M output tokens", DefaultValueFactory = _ => 0.79 };
    private readonly Option<double> _slmIn = new("--slm-input-price") { Description = "SLM $ per 1M input tokens (0: local)", DefaultValueFactory = _ => 0 };
    private readonly Option<double> _slmOut = new("--slm-output-price") { Description = "SLM $ per 1M output tokens (0: local)", DefaultValueFactory = _ => 0 };
    /// <summary>--trials, shared with live evaluation (trials per query, majority vote).</summary>
    public Option<int?> TrialsOption => _trials;

    private readonly Option<int?> _trials = new("--trials") { Description = "Trials per query the labels must hold (the paper: majority of 7); 1 scores single trials by pass_rate" };

    public void AddTo(Command command)
    {
        command.Options.Add(_llmIn);
        command.Options.Add(_llmOut);
        command.Options.Add(_slmIn);
        command.Options.Add(_slmOut);
        command.Options.Add(_trials);
    }

    public ReplayOptions Read(ParseResult parse) =>
        ReplayRunner.Options(parse.GetValue(_llmIn), parse.GetValue(_llmOut), parse.GetValue(_slmIn), parse.GetValue(_slmOut), parse.GetValue(_trials));
}
