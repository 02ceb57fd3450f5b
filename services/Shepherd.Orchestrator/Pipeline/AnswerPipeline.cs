using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Errors;
using Shepherd.Core.Strategies;
using Shepherd.Core.Tasks;
using Shepherd.Core.Cost;
using Shepherd.Llm;
using Shepherd.Llm.Storage;
using Shepherd.Orchestrator.Grpc;
using Shepherd.Orchestrator.Strategies;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>Validates an Answer request, runs its strategy and maps the outcome to the response.</summary>
public sealed partial class AnswerPipeline(
    LiveExecutor executor,
    TaskRegistry tasks,
    LlmGateway llm,
    ILedger ledger,
    TimeProvider time,
    IOptions<OrchestratorOptions> options,
    AnswerMetrics metrics,
    IOptions<LlmOptions> llmOptions,
    ILogger<AnswerPipeline> logger)
{
    public const int MaxSamples = 16;
    public const int MaxRequestIdLength = 128;

    private readonly ModelPrice _slmPrice = new(options.Value.SlmInputPerMillion, options.Value.SlmOutputPerMillion);

    /// <param name="deadline">The caller's deadline (UTC; DateTime.MaxValue for none): every downstream call gets what remains of it, capped per hop.</param>
    public async Task<AnswerResponse> AnswerAsync(AnswerRequest request, string apiKeyId, Action<string>? textSink, DateTime deadline, CancellationToken cancellationToken)
    {
        var context = CreateContext(request, apiKeyId, textSink, deadline);
        var started = time.GetTimestamp();
        using var activity = AnswerTracing.StartAnswer(context);
        var recorder = new AnswerRecorder(context, ledger, _slmPrice, llm.Price, time);
        var outcome = await executor.RunAsync(context, recorder, cancellationToken);
        var extracted = context.Task.Extract(outcome.Text, context.Item);
        var answer = recorder.Build(outcome.Text, extracted.Text ?? "", llm.IsStandIn);
        metrics.Answered(answer, time.GetElapsedTime(started));
        AnswerTracing.Answered(activity, answer);
        OrchestratorLog.Answered(logger, context.RequestId, apiKeyId, context.StrategyName, string.Join('>', answer.Path), answer.Cost.TotalUsd, answer.LlmStandIn, answer.Degraded);
        return AnswerMapper.ToResponse(answer);
    }

    private AnswerContext CreateContext(AnswerRequest request, string apiKeyId, Action<string>? textSink, DateTime deadline)
    {
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            throw new InvalidRequestException("query", "is empty");
        }

        if (request.Query.Length > o.MaxQueryChars)
        {
            throw new InvalidRequestException("query", $"is {request.Query.Length} characters; the limit is {o.MaxQueryChars} (Orchestrator:MaxQueryChars)");
        }

        // Invalid UTF-8 bytes are refused before this (MalformedMessageMiddleware, naming the field); a U+FFFD
        // here is a character the client sent. Lone surrogates can only come from in-process callers.
        if (HasLoneSurrogate(request.Query))
        {
            throw new InvalidRequestException("query", "contains an unpaired surrogate");
        }

        if (request.TaskContext.Length > o.MaxTaskContextChars)
        {
            throw new InvalidRequestException("task_context", $"is {request.TaskContext.Length} characters; the limit is {o.MaxTaskContextChars} (Orchestrator:MaxTaskContextChars)");
        }

        if (HasLoneSurrogate(request.TaskContext))
        {
            throw new InvalidRequestException("task_context", "contains an unpaired surrogate");
        }

        var strategy = ProtoNames.ToKind(request.Strategy)
            ?? throw new InvalidRequestException("strategy", $"unknown strategy {(int)request.Strategy}; use one of {string.Join(", ", StrategyNames.Wire)}");
        var kind = ProtoNames.ToTaskName(request.Task) ?? throw new InvalidRequestException("task", $"unknown task kind {(int)request.Task}");

        var preset = TaskPresets.For(kind);
        if (request.HasAlpha && (!double.IsFinite(request.Alpha) || request.Alpha is < 0 or > 1))
        {
            throw new InvalidRequestException("alpha", $"must be in [0, 1]; got {request.Alpha}");
        }

        if (request.HasEtaHint && request.EtaHint < 0)
        {
            throw new InvalidRequestException("eta_hint", $"must be >= 0; got {request.EtaHint}");
        }

        // cascade-abc is the paper's ABC by default: N = 2 answers, the LLM unless both agree.
        var abc = strategy == StrategyKind.CascadeAbc;
        var samples = request.HasSamples ? request.Samples : abc ? TaskPresets.AbcSamples : preset.Samples;
        if (samples is < 1 or > MaxSamples)
        {
            throw new InvalidRequestException("samples", $"K must be between 1 and {MaxSamples}; got {samples}");
        }

        var agree = request.HasAgree ? request.Agree : abc ? samples : Math.Min(preset.Agree, samples);
        if (agree < 1 || agree > samples)
        {
            throw new InvalidRequestException("agree", $"k must be between 1 and K ({samples}); got {agree}");
        }

        if (request.HasMaxHintTokens && request.MaxHintTokens < 1)
        {
            throw new InvalidRequestException("max_hint_tokens", $"must be >= 1; got {request.MaxHintTokens}");
        }

        if (request.HasBudgetUsd && (!double.IsFinite(request.BudgetUsd) || request.BudgetUsd < 0))
        {
            throw new InvalidRequestException("budget_usd", $"must be a non-negative amount; got {request.BudgetUsd}");
        }

        if (request.RequestId.Length > MaxRequestIdLength)
        {
            throw new InvalidRequestException("request_id", $"at most {MaxRequestIdLength} characters");
        }

        var requestId = request.RequestId.Length > 0 ? request.RequestId : Guid.NewGuid().ToString("N");
        var point = new OperatingPoint(request.HasAlpha ? request.Alpha : preset.Alpha, request.HasEtaHint ? request.EtaHint : preset.EtaHint, samples, agree);
        var item = BuildItem(requestId, kind, request.Query, request.TaskContext);
        return new AnswerContext(
            requestId, apiKeyId, strategy, tasks.Get(kind), item, point,
            Math.Min(request.HasMaxHintTokens ? request.MaxHintTokens : int.MaxValue, o.MaxHintTokens),
            request.HasBudgetUsd ? request.BudgetUsd : null,
            textSink)
        {
            AlphaOverride = request.HasAlpha ? request.Alpha : null,
            EtaOverride = request.HasEtaHint ? request.EtaHint : null,
            Deadline = deadline,
            LlmPrompt = Core.Tasks.LlmPrompt.Parse(llmOptions.Value.Prompt),
        };
    }

    /// <summary>
    /// A query as a task item. Code tasks take their entry point from the query (HumanEval: the last def) or from
    /// task_context, whose lines are the given tests (MBPP: "assert f(...) == ...").
    /// </summary>
    private static TaskItem BuildItem(string requestId, string kind, string query, string taskContext)
    {
        var tests = taskContext.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var entryPoint = kind switch
        {
            "humaneval" => DefName().Matches(query).LastOrDefault()?.Groups[1].Value,
            "mbpp" => tests.Select(t => AssertCall().Match(t)).FirstOrDefault(m => m.Success)?.Groups[1].Value,
            _ => null,
        };
        return new TaskItem($"request/{requestId}", kind, query, Reference: "")
        {
            EntryPoint = entryPoint,
            Tests = tests,
        };
    }

    private static bool HasLoneSurrogate(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && (i + 1 >= s.Length || !char.IsLowSurrogate(s[++i])))
            {
                return true;
            }

            if (char.IsLowSurrogate(s[i]) && (i == 0 || !char.IsHighSurrogate(s[i - 1])))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"^\s*def\s+([A-Za-z_]\w*)\s*\(", RegexOptions.Multiline)]
    private static partial Regex DefName();

    [GeneratedRegex(@"^assert\s+(?:not\s+)?\(?\s*(?:set\()?([A-Za-z_]\w*)\s*\(")]
    private static partial Regex AssertCall();
}
