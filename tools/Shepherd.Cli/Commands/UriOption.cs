using System.CommandLine;

namespace Shepherd.Cli.Commands;

/// <summary>
/// An absolute http(s) address option. System.CommandLine has no built-in converter for <see cref="Uri"/>, so
/// without this parser every <c>--address http://…</c> failed with "Cannot parse argument … as System.Uri".
/// </summary>
internal static class UriOption
{
    public static Option<Uri?> Create(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                return uri;
            }

            result.AddError($"{name} must be an absolute http:// or https:// address, for example http://127.0.0.1:5100 (got '{text}').");
            return null;
        },
    };
}
