using Skiff.Linux;

namespace Skiff.Runtime.Cgroups;

/// <summary>Picks the cgroup implementation for this host and resolves a runtime-spec cgroupsPath.</summary>
public static class CgroupFactory
{
    /// <summary>
    /// cgroupsPath as runc reads it: "/a/b" from the hierarchy root, "a/b" below skiff's own
    /// cgroup, "slice:prefix:name" (systemd style) as slice/prefix-name.scope; empty: a path
    /// from the container id.
    /// </summary>
    public static string RelativePath(string? cgroupsPath, string id, string ownCgroup)
    {
        if (string.IsNullOrEmpty(cgroupsPath))
        {
            return $"skiff/{id}";
        }
        var parts = cgroupsPath.Split(':');
        if (parts.Length == 3 && !cgroupsPath.StartsWith('/'))
        {
            string slice = parts[0].Length == 0 ? "system.slice" : parts[0];
            string scope = $"{parts[1]}-{parts[2]}.scope";
            return string.Join('/', ExpandSlice(slice).Append(scope));
        }
        if (cgroupsPath.StartsWith('/'))
        {
            return cgroupsPath.Trim('/');
        }
        return (ownCgroup.Trim('/') + "/" + cgroupsPath).Trim('/');
    }

    /// <summary>"a-b-c.slice" lives at a.slice/a-b.slice/a-b-c.slice.</summary>
    private static IEnumerable<string> ExpandSlice(string slice)
    {
        if (slice == "-.slice")
        {
            yield break;
        }
        string name = slice.EndsWith(".slice", StringComparison.Ordinal) ? slice[..^6] : slice;
        string prefix = "";
        foreach (var part in name.Split('-'))
        {
            prefix = prefix.Length == 0 ? part : prefix + "-" + part;
            yield return prefix + ".slice";
        }
    }

    public static ICgroup For(string? cgroupsPath, string id, bool rootless)
    {
        string mountInfo = ProcFile.ReadAllText("/proc/self/mountinfo");
        var version = CgroupLayout.Detect(mountInfo);
        string self = ProcFile.TryReadAllText("/proc/self/cgroup") ?? "";
        if (version == CgroupVersion.V2)
        {
            string own = self.Split('\n').FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..] ?? "/";
            string rel = RelativePath(cgroupsPath, id, own);
            string root = "/sys/fs/cgroup";
            string parent = Path.GetDirectoryName(Path.Combine(root, rel)) ?? root;
            if (rootless && !CanWrite(root, rel))
            {
                return new NoCgroup($"cgroup v2 is not delegated to this user under {parent} (systemd: Delegate=yes)");
            }
            return new CgroupV2(root, rel);
        }
        if (version is CgroupVersion.V1 or CgroupVersion.Hybrid)
        {
            if (rootless)
            {
                return new NoCgroup("rootless containers cannot use cgroup v1 (this host has " +
                                    CgroupLayout.Describe(version) + "); cgroup v2 with delegation is needed");
            }
            var hierarchies = V1Hierarchies(mountInfo);
            string own = self.Split('\n').FirstOrDefault(l => l.Contains(":memory:", StringComparison.Ordinal))?.Split(':', 3)[2] ?? "/";
            return new CgroupV1(RelativePath(cgroupsPath, id, own), hierarchies);
        }
        return new NoCgroup("no cgroup filesystem is mounted on this host");
    }

    private static bool CanWrite(string root, string rel)
    {
        string dir = Path.Combine(root, rel);
        while (!Directory.Exists(dir) && dir.Length > root.Length)
        {
            dir = Path.GetDirectoryName(dir)!;
        }
        return Interop.Libc.access(dir, 2 /* W_OK */) == 0;
    }

    /// <summary>controller → mount point, from the cgroup (v1) lines of mountinfo.</summary>
    public static Dictionary<string, string> V1Hierarchies(string mountInfo)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in mountInfo.Split('\n'))
        {
            int dash = line.IndexOf(" - cgroup ", StringComparison.Ordinal);
            if (dash < 0)
            {
                continue;
            }
            string mountPoint = line[..dash].Split(' ')[4];
            string options = line[(dash + 3)..].Split(' ').Last();
            foreach (var opt in options.Split(','))
            {
                if (opt is "cpu" or "cpuacct" or "cpuset" or "memory" or "devices" or "freezer" or "blkio" or "pids" or "hugetlb"
                    or "net_cls" or "net_prio" or "perf_event" or "rdma" or "misc")
                {
                    result.TryAdd(opt, mountPoint);
                }
            }
        }
        return result;
    }
}
