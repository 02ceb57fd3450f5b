using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Grading;

/// <summary>Everything a user needs to debug a grader on one output: both extracted answers, their keys and the
/// verdict with its reason (and the sandbox run for code).</summary>
public sealed record GradeReport(
    string Kind,
    string? Id,
    ExtractedAnswer Reference,
    ExtractedAnswer Output,
    bool Passed,
    bool Undecidable,
    string Reason,
    SandboxResult? Execution)
{
    private static readonly JsonSerializerOptions JsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>"pass", "fail" or "undecidable" (which also fails).</summary>
    public string Verdict => Passed ? "pass" : Undecidable ? "undecidable" : "fail";

    /// <summary>Whether the two answers would count as the same in consensus.</summary>
    public bool KeysMatch => Reference.Key is not null && Reference.Key == Output.Key;

    public string ToText()
    {
        var builder = new StringBuilder();
        builder.Append("task:             ").Append(Kind).Append(Id is null ? "" : $" ({Id})").AppendLine();
        builder.Append("reference answer: ").AppendLine(Show(Reference.Text));
        builder.Append("reference key:    ").AppendLine(Reference.Key ?? "(none)");
        builder.Append("output answer:    ").AppendLine(Show(Output.Text));
        builder.Append("output key:       ").AppendLine(Output.Key ?? "(none)");
        builder.Append("verdict:          ").AppendLine(Verdict);
        builder.Append("reason:           ").AppendLine(Reason);
        if (Execution is { } run)
        {
            builder.Append("sandbox:          ").Append(run.Verdict).Append(" in ").Append(run.Elapsed.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture))
                .Append(" ms; ").AppendLine(run.Isolation?.ToString() ?? "");
            if (run.Stderr.Length > 0)
            {
                builder.AppendLine("stderr:").AppendLine(Tail(run.Stderr, 2000));
            }
        }

        return builder.ToString();
    }

    /// <summary>One JSON object (a line of the batch output).</summary>
    public string ToJson(long? line = null) => JsonSerializer.Serialize(
        new Dictionary<string, object?>
        {
            ["line"] = line,
            ["kind"] = Kind,
            ["id"] = Id,
            ["reference_answer"] = Reference.Text,
            ["reference_key"] = Reference.Key,
            ["output_answer"] = Output.Text,
            ["output_key"] = Output.Key,
            ["keys_match"] = KeysMatch,
            ["verdict"] = Verdict,
            ["reason"] = Reason,
            ["sandbox_verdict"] = Execution?.Verdict.ToString(),
            ["sandbox_cause"] = Execution?.Cause,
            ["network_isolation"] = Execution?.NetworkIsolation,
        }.Where(kv => kv.Value is not null).ToDictionary(),
        JsonOptions);

    private static string Show(string? text)
    {
        if (text is null)
        {
            return "(none)";
        }

        return text.Contains('\n', StringComparison.Ordinal) ? "\n" + Indent(text.TrimEnd()) : text;
    }

    private static string Indent(string text) => string.Join("\n", text.Split('\n').Select(l => "    " + l));

    private static string Tail(string text, int max) => text.Length <= max ? text.TrimEnd() : "…" + text[^max..].TrimEnd();
}

/// <summary>Counts of a batch run.</summary>
public sealed record GradeBatchSummary(int Total, int Passed, int Failed, int Undecidable)
{
    public override string ToString() => $"graded {Total}: {Passed} pass, {Failed} fail, {Undecidable} undecidable (failed closed)";
}
