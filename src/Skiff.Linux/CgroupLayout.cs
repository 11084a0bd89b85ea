namespace Skiff.Linux;

public enum CgroupVersion
{
    None,
    V1,
    Hybrid,
    V2,
}

/// <summary>How the host mounts cgroups, read from /proc/self/mountinfo.</summary>
public static class CgroupLayout
{
    public static CgroupVersion Detect(string? mountInfo)
    {
        if (string.IsNullOrEmpty(mountInfo))
        {
            return CgroupVersion.None;
        }
        bool v2Root = false, v2Elsewhere = false, v1 = false;
        foreach (var line in mountInfo.Split('\n'))
        {
            // "36 25 0:31 / /sys/fs/cgroup/unified rw,... shared:9 - cgroup2 cgroup2 rw"
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0)
            {
                continue;
            }
            var fields = line[..dash].Split(' ');
            var fsType = line[(dash + 3)..].Split(' ')[0];
            if (fields.Length < 5)
            {
                continue;
            }
            string mountPoint = fields[4];
            if (fsType == "cgroup2")
            {
                if (mountPoint == "/sys/fs/cgroup")
                {
                    v2Root = true;
                }
                else
                {
                    v2Elsewhere = true;
                }
            }
            else if (fsType == "cgroup")
            {
                v1 = true;
            }
        }
        if (v2Root)
        {
            return CgroupVersion.V2;
        }
        if (v1)
        {
            return v2Elsewhere ? CgroupVersion.Hybrid : CgroupVersion.V1;
        }
        return v2Elsewhere ? CgroupVersion.V2 : CgroupVersion.None;
    }

    public static string Describe(CgroupVersion v) => v switch
    {
        CgroupVersion.V2 => "v2 (unified)",
        CgroupVersion.Hybrid => "hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)",
        CgroupVersion.V1 => "v1 (legacy)",
        _ => "none mounted",
    };
}
