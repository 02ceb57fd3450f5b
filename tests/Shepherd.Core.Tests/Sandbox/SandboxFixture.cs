using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Tests.Sandbox;

/// <summary>One sandbox shared by a test class, at the parallelism the brief asks for (2).</summary>
public sealed class SandboxFixture : IDisposable
{
    public PythonSandbox Sandbox { get; } = new(new SandboxOptions { MaxParallelism = 2 });

    public void Dispose() => Sandbox.Dispose();
}
