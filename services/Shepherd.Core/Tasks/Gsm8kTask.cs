using Shepherd.Core.Grading;

namespace Shepherd.Core.Tasks;

/// <summary>GSM8K: a fixed 2-shot prompt (the first two problems of the GSM8K train set, calculator markup
/// removed) and numeric grading of the final number.</summary>
public sealed class Gsm8kTask : ITaskKind
{
    public const string KindName = "gsm8k";

    /// <summary>Train rows 0 and 1 of gsm8k/train.jsonl (openai/grade-school-math), with &lt;&lt;…&gt;&gt; removed.</summary>
    public static IReadOnlyList<(string Question, string Solution)> Shots { get; } =
    [
        ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
         "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72"),
        ("Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
         "Weng earns 12/60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $10.\n#### 10"),
    ];

    public string Name => KindName;

    public string Instruction =>
        PromptTemplate.BaseInstruction + " Solve the problem step by step, then write the final number on the last line as \"#### <number>\".";

    public IReadOnlyList<ChatMessage> BuildMessages(TaskItem item, string? hint = null)
    {
        var messages = new List<ChatMessage>();
        foreach (var (question, solution) in Shots)
        {
            messages.Add(ChatMessage.User(PromptTemplate.Format(Instruction, question, null)));
            messages.Add(ChatMessage.Assistant(solution));
        }

        messages.Add(ChatMessage.User(BuildPrompt(item, hint)));
        return messages;
    }

    public string BuildPrompt(TaskItem item, string? hint = null) => PromptTemplate.Format(Instruction, item.Query, hint);

    public ExtractedAnswer Extract(string output, TaskItem? item = null) => NumericAnswer.FromOutput(output);

    public ExtractedAnswer ExtractReference(TaskItem item) => NumericAnswer.FromReference(item.Reference);

    public Task<GradeResult> GradeAsync(TaskItem item, string output, CancellationToken cancellationToken = default) =>
        Task.FromResult(AnswerGrading.Numeric(ExtractReference(item), Extract(output)));
}
