using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Engine.Containers;

/// <summary>
/// What SpecBuilder needs besides the container's definition: where it lives, whose ids
/// it runs with, the files and volumes the caller prepared, and the fds of this start.
/// The caller resolves the user (ContainerUser.Resolve against def.Passwd/def.Group and
/// Mapping) and writes the hosts, hostname and resolv.conf files before building.
/// </summary>
public sealed record SpecContext
{
    /// <summary>DIR: upper/, work/ and rootfs/ (the overlay's mount point, which must exist).</summary>
    public required ContainerDirectory Dir { get; init; }

    /// <summary>How container ids map to the host's: IdMapping.Host when rootful.</summary>
    public required IdMapping Mapping { get; init; }

    public required ContainerUser User { get; init; }

    /// <summary>Not real root: no mknod, device nodes are bound from the host; overlay with userxattr.</summary>
    public bool Rootless => Mapping.Mode != IdMapMode.Host;

    /// <summary>The container gets a user namespace of its own (rootless, and not already inside the keeper's).</summary>
    public bool NewUserNamespace => Rootless && !Mapping.Joined;

    /// <summary>setgroups(2) is denied: a single mapping written without newgidmap.</summary>
    public bool SetGroupsDenied => !Mapping.AllowsSetGroups;

    /// <summary>Null: Config.Hostname, else the short id (the host's name with --network host).</summary>
    public string? Hostname { get; init; }

    /// <summary>A network namespace of its own (none, private) or the host's (host). Null: from HostConfig.NetworkMode.</summary>
    public bool? OwnNetwork { get; init; }

    /// <summary>An existing network namespace to join instead of a new one; its fd goes in Joins.</summary>
    public string? NetworkNamespacePath { get; init; }

    /// <summary>
    /// Generated files bound at /etc/hosts, /etc/hostname, /etc/resolv.conf (read-write,
    /// read-only with --read-only). Null: DIR/hosts, DIR/hostname, DIR/resolv.conf when
    /// they exist; "": not bound.
    /// </summary>
    public string? HostsPath { get; init; }
    public string? HostnamePath { get; init; }
    public string? ResolvConfPath { get; init; }

    /// <summary>
    /// A named volume → its host directory (creating it when the caller's volume store
    /// does that). An anonymous volume (-v /data) is asked for by the name "": the caller
    /// should have named it at create, as Docker does. Null: volumes are refused.
    /// </summary>
    public Func<string, string>? ResolveVolume { get; init; }

    /// <summary>The terminal's size with -t; zeros for HostConfig.ConsoleSize, or none.</summary>
    public (ushort Rows, ushort Cols) TerminalSize { get; init; }

    /// <summary>Where compiled seccomp programs are kept (SeccompCache); null compiles every time.</summary>
    public string? CacheDir { get; init; }

    /// <summary>The static init bound at /sbin/docker-init with --init (Debian's catatonit is static).</summary>
    public string InitPath { get; init; } = "/usr/bin/catatonit";

    /// <summary>How the host mounts cgroups; null: detected (one stat).</summary>
    public CgroupVersion? Cgroups { get; init; }

    /// <summary>Docker's warnings (e.g. swap that cannot be limited).</summary>
    public Action<string>? Warn { get; init; }

    // ---- this start (Lower) -----------------------------------------------------------

    /// <summary>A unix socket the child sends its pty master over (Config.Tty); -1 without.</summary>
    public int ConsoleFd { get; init; } = -1;

    /// <summary>create: a fifo the child blocks on until start (O_RDWR); -1 runs straight to exec.</summary>
    public int StartFifoFd { get; init; } = -1;

    /// <summary>The cgroup for CLONE_INTO_CGROUP (ICgroup.OpenForClone), or -1 (then ICgroup.AddProcess).</summary>
    public int CgroupFd { get; init; } = -1;

    /// <summary>Signal the container gets if its parent dies; 0 for none.</summary>
    public int ParentDeathSignal { get; init; }

    /// <summary>CLONE_PARENT: the container becomes our parent's child (a supervisor's worker launching it).</summary>
    public bool CloneParent { get; init; }

    /// <summary>Namespaces to join by fd (e.g. the network one of NetworkNamespacePath).</summary>
    public IReadOnlyList<(CloneFlags Type, int Fd)> Joins { get; init; } = [];
}
