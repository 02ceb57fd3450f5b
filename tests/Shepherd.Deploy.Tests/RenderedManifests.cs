using System.Text.Json.Nodes;
using Shepherd.TestSupport;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Shepherd.Deploy.Tests;

/// <summary>One overlay of deploy/k8s as `kubectl kustomize` renders it: its text and its objects as JSON nodes.</summary>
public sealed class RenderedManifests
{
    private RenderedManifests(string overlay, string text, IReadOnlyList<JsonObject> objects)
    {
        Overlay = overlay;
        Text = text;
        Objects = objects;
    }

    public string Overlay { get; }

    public string Text { get; }

    public IReadOnlyList<JsonObject> Objects { get; }

    public static string? Kubectl => ExternalTool.Find("kubectl");

    public static string K8sDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "deploy", "k8s");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException("deploy/k8s not found above the test's output directory");
        }
    }

    public static async Task<RenderedManifests> RenderAsync(string overlay)
    {
        var (exit, stdout, stderr) = await ExternalTool.RunAsync(Kubectl!, ["kustomize", Path.Combine(K8sDirectory, "overlays", overlay)], TimeSpan.FromMinutes(1));
        if (exit != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize {overlay} failed ({exit}): {stderr}");
        }

        return new RenderedManifests(overlay, stdout, Parse(stdout));
    }

    /// <summary>Every YAML document of <paramref name="text"/> as a JSON object; scalars stay strings.</summary>
    public static IReadOnlyList<JsonObject> Parse(string text)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(text));
        parser.Consume<StreamStart>();
        var objects = new List<JsonObject>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (ToNode(deserializer.Deserialize<object?>(parser)) is JsonObject o)
            {
                objects.Add(o);
            }
        }

        return objects;
    }

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject Get(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => Name(o) == name) ?? throw new KeyNotFoundException($"{Overlay}: no {kind} {name}");

    public static string Name(JsonNode o) => (string)o["metadata"]!["name"]!;

    public static IEnumerable<JsonObject> Containers(JsonObject deployment) =>
        deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Select(c => c!.AsObject());

    public static string? Env(JsonObject container, string name) =>
        (string?)container["env"]?.AsArray().FirstOrDefault(e => (string?)e!["name"] == name)?["value"];

    public static JsonObject? EnvEntry(JsonObject container, string name) =>
        container["env"]?.AsArray().FirstOrDefault(e => (string?)e!["name"] == name)?.AsObject();

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        IDictionary<object, object?> map => new JsonObject(map.Select(kv => KeyValuePair.Create(kv.Key.ToString()!, ToNode(kv.Value)))),
        IEnumerable<object?> list when value is not string => new JsonArray(list.Select(ToNode).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };
}
