using System.Globalization;

namespace Shepherd.Core.Grading.Latex;

/// <summary>
/// A small evaluator for normalised LaTeX arithmetic: numbers, + − * / ^, implicit products, parentheses and
/// braces, <c>\frac</c>, <c>\sqrt</c> (with index), <c>\pi</c>, <c>e</c>, <c>\ln</c>, <c>\log</c> (with base),
/// <c>\sin</c> <c>\cos</c> <c>\tan</c>, absolute values, and single-letter variables (with subscripts).
/// It parses into a closure over a variable assignment, so symbolic answers can be compared by evaluating
/// both at the same random points.
/// </summary>
public sealed class MathExpression
{
    private readonly Func<IReadOnlyDictionary<string, double>, double> _evaluate;

    private MathExpression(Func<IReadOnlyDictionary<string, double>, double> evaluate, IReadOnlySet<string> variables)
    {
        _evaluate = evaluate;
        Variables = variables;
    }

    /// <summary>Names of the free variables (e.g. "x", "a_n").</summary>
    public IReadOnlySet<string> Variables { get; }

    public bool IsConstant => Variables.Count == 0;

    /// <summary>Parses a normalised answer (see <see cref="LatexNormalizer"/>); null when it is not arithmetic.</summary>
    public static MathExpression? TryParse(string normalized)
    {
        if (normalized.Length == 0 || normalized.Length > 500)
        {
            return null;
        }

        var parser = new Parser(normalized);
        try
        {
            var node = parser.ParseExpression();
            return parser.AtEnd ? new MathExpression(node, parser.Variables) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public double Evaluate(IReadOnlyDictionary<string, double>? variables = null) =>
        _evaluate(variables ?? new Dictionary<string, double>());

    private sealed class Parser(string text)
    {
        private static readonly string[] Functions = ["\\sin", "\\cos", "\\tan", "\\ln", "\\log", "\\exp"];
        private int _position;

        public HashSet<string> Variables { get; } = new(StringComparer.Ordinal);

        public bool AtEnd => _position >= text.Length;

        private char Current => _position < text.Length ? text[_position] : '\0';

        public Func<IReadOnlyDictionary<string, double>, double> ParseExpression()
        {
            var left = ParseTerm();
            while (Current is '+' or '-')
            {
                var op = text[_position++];
                var right = ParseTerm();
                var l = left;
                left = op == '+' ? v => l(v) + right(v) : v => l(v) - right(v);
            }

            return left;
        }

        private Func<IReadOnlyDictionary<string, double>, double> ParseTerm()
        {
            var left = ParseUnary();
            while (true)
            {
                if (Current is '*' or '/')
                {
                    var op = text[_position++];
                    var right = ParseUnary();
                    var l = left;
                    left = op == '*' ? v => l(v) * right(v) : v => l(v) / right(v);
                }
                else if (StartsPrimary())
                {
                    var right = ParsePower();
                    var l = left;
                    left = v => l(v) * right(v);
                }
                else
                {
                    return left;
                }
            }
        }

        private Func<IReadOnlyDictionary<string, double>, double> ParseUnary()
        {
            if (Current == '-')
            {
                _position++;
                var operand = ParseUnary();
                return v => -operand(v);
            }

            if (Current == '+')
            {
                _position++;
                return ParseUnary();
            }

            return ParsePower();
        }

        private Func<IReadOnlyDictionary<string, double>, double> ParsePower()
        {
            var basis = ParsePrimary();
            if (Current != '^')
            {
                return basis;
            }

            _position++;
            var exponent = Current == '-' ? ParseUnary() : ParseGroupOrAtom();
            return v => System.Math.Pow(basis(v), exponent(v));
        }

        private bool StartsPrimary() =>
            char.IsAsciiDigit(Current) || char.IsAsciiLetter(Current) || Current is '(' or '{' or '.' or '|'
            || (Current == '\\' && !StartsWith("\\cup") && !StartsWith("\\cap") && !StartsWith("\\}") && !StartsWith("\\infty") && !StartsWith("\\pm"));

        private bool StartsWith(string token) => string.CompareOrdinal(text, _position, token, 0, token.Length) == 0;

        private Func<IReadOnlyDictionary<string, double>, double> ParseGroupOrAtom()
        {
            if (Current == '{')
            {
                return ParseBraced();
            }

            if (char.IsAsciiDigit(Current))
            {
                // "^23" in LaTeX is (^2)3: one digit only.
                var digit = text[_position++] - '0';
                return _ => digit;
            }

            return ParsePrimary();
        }

        private Func<IReadOnlyDictionary<string, double>, double> ParseBraced()
        {
            Expect('{');
            var inner = ParseExpression();
            Expect('}');
            return inner;
        }

        private Func<IReadOnlyDictionary<string, double>, double> ParsePrimary()
        {
            if (char.IsAsciiDigit(Current) || Current == '.')
            {
                var start = _position;
                while (char.IsAsciiDigit(Current) || Current == '.')
                {
                    _position++;
                }

                var value = double.Parse(text.AsSpan(start, _position - start), NumberStyles.Float, CultureInfo.InvariantCulture);
                return _ => value;
            }

            switch (Current)
            {
                case '(':
                    {
                        _position++;
                        var inner = ParseExpression();
                        Expect(')');
                        return inner;
                    }
                case '{':
                    return ParseBraced();
                case '|':
                    {
                        _position++;
                        var inner = ParseExpression();
                        Expect('|');
                        return v => System.Math.Abs(inner(v));
                    }
            }

            if (Current == '\\')
            {
                return ParseCommand();
            }

            if (char.IsAsciiLetter(Current))
            {
                // Three letters in a row are a word ("people", "not"), not a product of variables.
                if (_position + 2 < text.Length && char.IsAsciiLetter(text[_position + 1]) && char.IsAsciiLetter(text[_position + 2]))
                {
                    throw new FormatException();
                }

                var name = text[_position++].ToString();
                if (name == "e" && Current != '_')
                {
                    return _ => System.Math.E;
                }

                if (Current == '_')
                {
                    _position++;
                    var start = _position;
                    if (Current == '{')
                    {
                        var close = BalancedGroup.Close(text, _position) ?? throw new FormatException();
                        _position = close + 1;
                    }
                    else if (_position < text.Length)
                    {
                        _position++;
                    }

                    name += "_" + text[start.._position].Trim('{', '}');
                }

                Variables.Add(name);
                return v => v.TryGetValue(name, out var value) ? value : double.NaN;
            }

            throw new FormatException();
        }

        private Func<IReadOnlyDictionary<string, double>, double> ParseCommand()
        {
            if (TryConsume("\\frac"))
            {
                var numerator = ParseGroupOrAtom();
                var denominator = ParseGroupOrAtom();
                return v => numerator(v) / denominator(v);
            }

            if (TryConsume("\\sqrt"))
            {
                Func<IReadOnlyDictionary<string, double>, double>? index = null;
                if (Current == '[')
                {
                    _position++;
                    index = ParseExpression();
                    Expect(']');
                }

                var radicand = ParseGroupOrAtom();
                return index is null
                    ? v => System.Math.Sqrt(radicand(v))
                    : v => NthRoot(radicand(v), index(v));
            }

            if (TryConsume("\\pi"))
            {
                return _ => System.Math.PI;
            }

            foreach (var function in Functions)
            {
                if (!TryConsume(function))
                {
                    continue;
                }

                Func<IReadOnlyDictionary<string, double>, double>? logBase = null;
                if (function == "\\log" && Current == '_')
                {
                    _position++;
                    logBase = ParseGroupOrAtom();
                }

                var argument = ParsePower();
                return function switch
                {
                    "\\sin" => v => System.Math.Sin(argument(v)),
                    "\\cos" => v => System.Math.Cos(argument(v)),
                    "\\tan" => v => System.Math.Tan(argument(v)),
                    "\\ln" => v => System.Math.Log(argument(v)),
                    "\\exp" => v => System.Math.Exp(argument(v)),
                    _ when logBase is not null => v => System.Math.Log(argument(v)) / System.Math.Log(logBase(v)),
                    _ => v => System.Math.Log10(argument(v)),
                };
            }

            throw new FormatException();
        }

        private static double NthRoot(double value, double n) =>
            value < 0 && System.Math.Abs(n % 2 - 1) < 1e-12 ? -System.Math.Pow(-value, 1 / n) : System.Math.Pow(value, 1 / n);

        private bool TryConsume(string token)
        {
            if (!StartsWith(token))
            {
                return false;
            }

            var end = _position + token.Length;
            // \pi must not match \pm, \ln must not match \lnot: a command ends where the letters do.
            if (end < text.Length && char.IsAsciiLetter(text[end]))
            {
                return false;
            }

            _position = end;
            return true;
        }

        private void Expect(char expected)
        {
            if (Current != expected)
            {
                throw new FormatException();
            }

            _position++;
        }
    }
}
