using System.Text.Json;

namespace Shepherd.Llm;

/// <summary>
/// An error reply's message (OpenAI's {"error":{"message"}} or the plain body), bounded before anything looks at
/// it; redaction then cuts it to a log line (cutting first could leave half a key that no longer looks like one).
/// It is upstream text: it never goes into an exception, whose message may reach a client.
/// </summary>
public static class LlmErrorBody
{
    private const int MaxChars = 4096;

    public static async Task<string> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
            {
                return Trim(message.GetString() ?? "");
            }
        }
        catch (JsonException)
        {
        }

        return Trim(body);
    }

    private static string Trim(string s) => s.Length <= MaxChars ? s : s[..MaxChars];
}
