using Skiff.Oci;

namespace Skiff.Cli.Runc;

/// <summary>What `skiff-runc spec` writes: runc's template, rootless adjusted as runc's --rootless.</summary>
public static class DefaultSpec
{
    private static readonly List<string> Caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

    public static RuntimeSpec Make(bool rootless, uint uid, uint gid)
    {
        var spec = new RuntimeSpec
        {
            OciVersion = "1.2.0",
            Process = new Process
            {
                Terminal = true,
                User = new User { Uid = 0, Gid = 0 },
                Args = ["sh"],
                Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                Cwd = "/",
                Capabilities = new Capabilities { Bounding = [.. Caps], Effective = [.. Caps], Permitted = [.. Caps], Ambient = [.. Caps] },
                Rlimits = [new Rlimit { Type = "RLIMIT_NOFILE", Hard = 1024, Soft = 1024 }],
                NoNewPrivileges = true,
            },
            Root = new Root { Path = "rootfs", Readonly = true },
            Hostname = "runc",
            Mounts =
            [
                new Mount { Destination = "/proc", Type = "proc", Source = "proc" },
                new Mount { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
                new Mount { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
                new Mount { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
                new Mount { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
                new Mount { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = ["nosuid", "noexec", "nodev", "ro"] },
                new Mount { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = ["nosuid", "noexec", "nodev", "relatime", "ro"] },
            ],
            Linux = new LinuxSpec
            {
                Resources = new Resources { Devices = [new DeviceCgroup { Allow = false, Access = "rwm" }] },
                Namespaces = [new() { Type = "pid" }, new() { Type = "network" }, new() { Type = "ipc" }, new() { Type = "uts" }, new() { Type = "mount" }, new() { Type = "cgroup" }],
                MaskedPaths = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                               "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
                ReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
            },
        };
        if (rootless)
        {
            // As runc spec --rootless: a user namespace mapping only the caller, no cgroup limits, /sys bound.
            spec.Linux.Resources = null;
            spec.Linux.Namespaces.RemoveAll(n => n.Type is "network" or "cgroup");
            spec.Linux.Namespaces.Add(new Namespace { Type = "user" });
            spec.Linux.UidMappings = [new IdMap { ContainerId = 0, HostId = uid, Size = 1 }];
            spec.Linux.GidMappings = [new IdMap { ContainerId = 0, HostId = gid, Size = 1 }];
            spec.Mounts.RemoveAll(m => m.Destination is "/sys/fs/cgroup" or "/sys");
            spec.Mounts.Add(new Mount { Destination = "/sys", Type = "none", Source = "/sys", Options = ["rbind", "nosuid", "noexec", "nodev", "ro"] });
            spec.Mounts.Single(m => m.Destination == "/dev/pts").Options!.Remove("gid=5");
            spec.Mounts.Single(m => m.Destination == "/dev/mqueue").Options!.Remove("nodev");
        }
        return spec;
    }
}
