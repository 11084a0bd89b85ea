using Skiff.Runtime;

namespace Skiff.Cli;

/// <summary>What every verb shares: global flags and the caller's identity.</summary>
public sealed class CliContext(string? rootFlag)
{
    public bool IsRoot { get; } = Interop.Libc.geteuid() == 0;

    public SkiffPaths Paths => field ??= SkiffPaths.Resolve(rootFlag, IsRoot, Environment.GetEnvironmentVariable);
}
