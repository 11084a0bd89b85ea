namespace Skiff.Runtime;

public enum NetworkMode
{
    /// <summary>A network namespace of its own with only loopback.</summary>
    None,
    /// <summary>The host's network namespace.</summary>
    Host,
}

/// <summary>What to run, validated: the input of lowering into a launch plan.</summary>
public sealed record ContainerSpec
{
    public required string Id { get; init; }
    /// <summary>Read-only layers of the root filesystem, the topmost first.</summary>
    public required IReadOnlyList<string> Layers { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    /// <summary>KEY=VALUE, in order; later entries win.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDir { get; init; } = "/";
    /// <summary>user[:group] as given to -u, by name or number; null for root.</summary>
    public string? User { get; init; }
    public string? Hostname { get; init; }
    public NetworkMode Network { get; init; } = NetworkMode.None;
    public bool Tty { get; init; }
    public bool Interactive { get; init; }
    /// <summary>A throw-away container: its upper layer is mounted volatile.</summary>
    public bool Remove { get; init; }
    public ushort TerminalRows { get; init; }
    public ushort TerminalCols { get; init; }
}
