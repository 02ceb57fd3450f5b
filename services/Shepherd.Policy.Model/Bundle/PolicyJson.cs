using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shepherd.Policy.Model.Bundle;

/// <summary>The JSON conventions of policy.json: snake_case names and enum values, indented.</summary>
public static class PolicyJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };
}
