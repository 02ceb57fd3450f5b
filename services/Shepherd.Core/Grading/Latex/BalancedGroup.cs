namespace Shepherd.Core.Grading.Latex;

internal static class BalancedGroup
{
    /// <summary>Index of the brace closing the one at <paramref name="open"/>, or null when unbalanced.
    /// Escaped braces (<c>\{</c>, <c>\}</c>) do not count.</summary>
    public static int? Close(string text, int open)
    {
        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length && (text[i + 1] == '{' || text[i + 1] == '}'))
            {
                i++;
                continue;
            }

            if (text[i] == '{')
            {
                depth++;
            }
            else if (text[i] == '}')
            {
                depth--;
                if (depth == 0)
                {
                    return i;
                }
            }
        }

        return null;
    }
}
