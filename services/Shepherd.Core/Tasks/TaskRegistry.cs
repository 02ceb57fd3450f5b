using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Tasks;

/// <summary>The task kinds by name: gsm8k, cnk12, humaneval, mbpp, generic. Code kinds share one sandbox.</summary>
public sealed class TaskRegistry
{
    private static readonly Lazy<TaskRegistry> SharedRegistry = new(() => new TaskRegistry(new PythonSandbox()));
    private readonly Dictionary<string, ITaskKind> _kinds;

    public TaskRegistry(PythonSandbox sandbox)
    {
        Sandbox = sandbox;
        ITaskKind[] kinds = [new Gsm8kTask(), new Cnk12Task(), new HumanEvalTask(sandbox), new MbppTask(sandbox), new GenericTask(sandbox)];
        _kinds = kinds.ToDictionary(k => k.Name, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>A process-wide registry with a default sandbox (parallelism = processor count).</summary>
    public static TaskRegistry Shared => SharedRegistry.Value;

    public static IReadOnlyList<string> Names { get; } =
        [Gsm8kTask.KindName, Cnk12Task.KindName, HumanEvalTask.KindName, MbppTask.KindName, GenericTask.KindName];

    public PythonSandbox Sandbox { get; }

    public IEnumerable<ITaskKind> All => _kinds.Values;

    /// <summary>The kind named <paramref name="name"/> (case-insensitive); throws listing the known names.</summary>
    public ITaskKind Get(string name) =>
        TryGet(name, out var kind) ? kind : throw new KeyNotFoundException($"Unknown task kind '{name}'. Known kinds: {string.Join(", ", Names)}.");

    public bool TryGet(string name, out ITaskKind kind) => _kinds.TryGetValue(name, out kind!);
}
