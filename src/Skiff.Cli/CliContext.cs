using Skiff.Runtime;

namespace Skiff.Cli;

/// <summary>What every verb shares: global flags and the caller's identity.</summary>
public sealed class CliContext(string? rootFlag)
{
    /// <summary>Real root; inside the keeper's user namespace uid 0 is still a rootless user.</summary>
    public bool IsRoot { get; } = Interop.Libc.geteuid() == 0 && Skiff.Linux.UserNamespaceKeeper.Joined == 0;

    public SkiffPaths Paths => field ??= SkiffPaths.Resolve(rootFlag, IsRoot, Environment.GetEnvironmentVariable);
}
