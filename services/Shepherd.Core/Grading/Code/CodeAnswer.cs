using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Shepherd.Core.Grading.Code;

/// <summary>Finds the program in a model output and gives it a key that ignores whitespace and comments.</summary>
public static partial class CodeAnswer
{
    private static readonly HashSet<string> PythonFences = new(StringComparer.OrdinalIgnoreCase) { "", "python", "python3", "py" };

    /// <summary>The program in <paramref name="output"/>: the fenced block defining <paramref name="entryPoint"/>
    /// (else the first Python block with a <c>def</c>, else the first block); without fences, the output less the
    /// prose lines before and after the code. Null when nothing code-like is found.</summary>
    public static string? ExtractProgram(string output, string? entryPoint = null)
    {
        var text = output.Replace("\r\n", "\n", StringComparison.Ordinal);
        var blocks = Fence().Matches(text).Select(m => (Language: m.Groups[1].Value.Trim(), Code: m.Groups[2].Value)).ToList();
        if (blocks.Count > 0)
        {
            var python = blocks.Where(b => PythonFences.Contains(b.Language)).ToList();
            var pool = python.Count > 0 ? python : blocks;
            var chosen = (entryPoint is null ? null : pool.LastOrDefault(b => DefinesFunction(b.Code, entryPoint)).Code)
                ?? pool.FirstOrDefault(b => b.Code.Contains("def ", StringComparison.Ordinal)).Code
                ?? pool[0].Code;
            return chosen.TrimEnd() + "\n";
        }

        return Unfenced(text);
    }

    /// <summary>True when <paramref name="code"/> defines a top-level function <paramref name="name"/>.</summary>
    public static bool DefinesFunction(string code, string name) =>
        Regex.IsMatch(code, @"^\s*(?:async\s+)?def\s+" + Regex.Escape(name) + @"\s*\(", RegexOptions.Multiline);

    public static ExtractedAnswer Extract(string output, string? entryPoint = null)
    {
        var program = ExtractProgram(output, entryPoint);
        return program is null ? ExtractedAnswer.None : new ExtractedAnswer(program, Key(program));
    }

    /// <summary>"code:" + 16 hex digits of SHA-256 over <see cref="Canonical"/>: programs differing only in
    /// whitespace, comments or line endings share a key.</summary>
    public static string Key(string program) =>
        "code:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(program))))[..16];

    /// <summary>The program without comments and blank lines, each logical line prefixed by its block depth
    /// (so indentation style does not matter but block structure does), and whitespace inside a line removed
    /// except one space between two word characters. String literals are kept verbatim.</summary>
    public static string Canonical(string program)
    {
        var text = program.Replace("\r\n", "\n", StringComparison.Ordinal);
        var builder = new StringBuilder(text.Length);
        var indents = new Stack<int>();
        indents.Push(0);
        var pendingSpace = false;
        var lineStart = true;
        var brackets = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (lineStart && brackets == 0)
            {
                var width = 0;
                while (i < text.Length && text[i] is ' ' or '\t')
                {
                    width = text[i] == '\t' ? (width / 8 + 1) * 8 : width + 1;
                    i++;
                }

                if (i >= text.Length || text[i] is '\n' or '#')
                {
                    while (i < text.Length && text[i] != '\n')
                    {
                        i++;
                    }

                    i++;
                    continue;
                }

                if (width > indents.Peek())
                {
                    indents.Push(width);
                }

                while (width < indents.Peek() && indents.Count > 1)
                {
                    indents.Pop();
                }

                if (builder.Length > 0)
                {
                    builder.Append('\n');
                }

                builder.Append('\t', indents.Count - 1);
                lineStart = false;
                pendingSpace = false;
            }

            var c = text[i];
            if (c == '#')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (c == '\n')
            {
                lineStart = brackets == 0;
                pendingSpace = true;
                i++;
                continue;
            }

            if (c == '\\' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                pendingSpace = true;
                i += 2;
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                pendingSpace = true;
                i++;
                continue;
            }

            if (pendingSpace && builder.Length > 0 && IsWord(builder[^1]) && IsWord(c))
            {
                builder.Append(' ');
            }

            pendingSpace = false;
            if (c is '\'' or '"')
            {
                var end = StringEnd(text, i);
                builder.Append(text, i, end - i);
                i = end;
                continue;
            }

            brackets = c is '(' or '[' or '{' ? brackets + 1 : c is ')' or ']' or '}' ? Math.Max(0, brackets - 1) : brackets;
            builder.Append(c);
            i++;
        }

        return builder.ToString();
    }

    private static bool IsWord(char c) => char.IsLetterOrDigit(c) || c == '_';

    private static int StringEnd(string text, int start)
    {
        var quote = text[start];
        var triple = start + 2 < text.Length && text[start + 1] == quote && text[start + 2] == quote;
        var i = start + (triple ? 3 : 1);
        while (i < text.Length)
        {
            if (text[i] == '\\')
            {
                i += 2;
                continue;
            }

            if (triple)
            {
                if (i + 2 < text.Length && text[i] == quote && text[i + 1] == quote && text[i + 2] == quote)
                {
                    return i + 3;
                }
            }
            else if (text[i] == quote || text[i] == '\n')
            {
                return i + 1;
            }

            i++;
        }

        return text.Length;
    }

    private static string? Unfenced(string text)
    {
        var lines = text.Split('\n');
        var first = Array.FindIndex(lines, l => CodeStart().IsMatch(l) || Assignment().IsMatch(l));
        if (first < 0)
        {
            return null;
        }

        var last = lines.Length - 1;
        while (last > first && (lines[last].Trim().Length == 0 || !LooksLikeCode(lines[last])))
        {
            last--;
        }

        return string.Join("\n", lines[first..(last + 1)]).TrimEnd() + "\n";
    }

    private static bool LooksLikeCode(string line) =>
        line.StartsWith(' ') || line.StartsWith('\t') || CodeStart().IsMatch(line) || Assignment().IsMatch(line) || CodeLine().IsMatch(line);

    [GeneratedRegex(@"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\z)", RegexOptions.Singleline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"^(?:[ \t]+\S|def |async def |class |import |from \S+ import |@\w|if __name__)")]
    private static partial Regex CodeStart();

    // "x = 1", "a, b = f()", "cache[k] += 1": a target without prose-like spaces, then an assignment.
    [GeneratedRegex(@"^[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?(?:\s*,\s*[A-Za-z_][\w.]*)*\s*(?:[-+*/%]|//|\*\*)?=(?!=)")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"^(?:[A-Za-z_][\w.]*\(|print\(|assert |return\b|else:|elif |try:|except|finally:|for |while |if |with |raise |#)")]
    private static partial Regex CodeLine();
}
