using System.Runtime.InteropServices;
using Skiff.Linux;

namespace Skiff.Runtime.Oci;

/// <summary>exec into a running process's namespaces: the fds to setns, user first, skipping those we share.</summary>
public static class NamespaceJoins
{
    private static readonly (string Name, CloneFlags Flag)[] Order =
    [
        ("user", CloneFlags.NewUser), ("ipc", CloneFlags.NewIpc), ("uts", CloneFlags.NewUts), ("net", CloneFlags.NewNet),
        ("pid", CloneFlags.NewPid), ("cgroup", CloneFlags.NewCgroup), ("time", CloneFlags.NewTime), ("mnt", CloneFlags.NewNs),
    ];

    /// <summary>Opens /proc/PID/ns/* in join order; every fd opened is added to <paramref name="opened"/> (the caller closes them).</summary>
    public static List<(CloneFlags Type, int Fd)> Open(int pid, List<int> opened)
    {
        var joins = new List<(CloneFlags, int)>();
        foreach (var (name, flag) in Order)
        {
            // A kernel without CONFIG_TIME_NS has no time link to join.
            if (SameNamespace(pid, name) || (flag == CloneFlags.NewTime && !Path.Exists("/proc/self/ns/time")))
            {
                continue;
            }
            int fd = Interop.Libc.open($"/proc/{pid}/ns/{name}", Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC);
            if (fd < 0)
            {
                throw new SystemCallException($"open /proc/{pid}/ns/{name}", Marshal.GetLastPInvokeError());
            }
            opened.Add(fd);
            joins.Add((flag, fd));
        }
        return joins;
    }

    private static bool SameNamespace(int pid, string name)
    {
        try
        {
            var theirs = new FileInfo($"/proc/{pid}/ns/{name}").LinkTarget;
            var ours = new FileInfo($"/proc/self/ns/{name}").LinkTarget;
            return theirs is not null && theirs == ours;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
