namespace Skiff.Linux;

/// <summary>One line of a uid_map or gid_map: Size ids from ContainerId map onto HostId.</summary>
public readonly record struct IdRange(uint ContainerId, uint HostId, uint Size)
{
    public bool Contains(uint containerId) => containerId >= ContainerId && containerId - ContainerId < Size;
    public override string ToString() => $"{ContainerId} {HostId} {Size}";
}

public enum IdMapMode
{
    /// <summary>Rootful: no user namespace, ids are the host's.</summary>
    Host,
    /// <summary>Rootless without subordinate ranges: container root is the user, nothing else is mapped.</summary>
    Single,
    /// <summary>Rootless with /etc/subuid and /etc/subgid: 0 is the user, 1..N the subordinate range.</summary>
    Subordinate,
}

/// <summary>
/// How container ids map onto the host's. Joined: skiff already runs inside a user
/// namespace with this mapping (the keeper's), so containers need none of their own.
/// </summary>
public sealed record IdMapping(IdMapMode Mode, IdRange[] Uids, IdRange[] Gids, bool Joined = false)
{
    public static IdMapping Host { get; } = new(IdMapMode.Host, [], []);

    public bool MapsUid(uint id) => Mode == IdMapMode.Host || Array.Exists(Uids, r => r.Contains(id));
    public bool MapsGid(uint id) => Mode == IdMapMode.Host || Array.Exists(Gids, r => r.Contains(id));

    /// <summary>setgroups(2) is denied in a user namespace whose gid_map was written without newgidmap.</summary>
    public bool AllowsSetGroups => Mode != IdMapMode.Single;

    public uint HighestUid => Uids.Length == 0 ? uint.MaxValue : Uids.Max(r => r.ContainerId + r.Size - 1);
    public uint HighestGid => Gids.Length == 0 ? uint.MaxValue : Gids.Max(r => r.ContainerId + r.Size - 1);

    public string Describe() => Mode switch
    {
        IdMapMode.Host => "host (rootful, no user namespace)",
        IdMapMode.Single => $"single (container root is uid {Uids[0].HostId}; no subordinate ids)",
        _ => $"subordinate (uids {string.Join(", ", Uids.Select(u => u.ToString()))}; gids {string.Join(", ", Gids.Select(g => g.ToString()))})",
    };
}
