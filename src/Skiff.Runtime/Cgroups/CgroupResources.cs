using System.Globalization;
using Skiff.Oci;

namespace Skiff.Runtime.Cgroups;

/// <summary>Turns runtime-spec resources into cgroup file writes, for v1 and v2.</summary>
public static class CgroupResources
{
    public static bool Any(Resources? r) =>
        r is not null && (r.Memory is { Limit: not null } or { Reservation: not null } or { Swap: not null } ||
                          r.Cpu is { Shares: not null } or { Quota: not null } or { Cpus: not null } or { Mems: not null } ||
                          r.Pids is { Limit: > 0 } || r.BlockIO is not null || r.HugepageLimits is { Count: > 0 } ||
                          r.Unified is { Count: > 0 });

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string S(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>(controller, file, value) for cgroup v1, in the order they must be written.</summary>
    public static List<(string Controller, string File, string Value)> V1(Resources? r)
    {
        var w = new List<(string, string, string)>();
        if (r is null)
        {
            return w;
        }
        if (r.Memory is { } m)
        {
            if (m.Limit is { } limit)
            {
                w.Add(("memory", "memory.limit_in_bytes", S(limit)));
            }
            if (m.Swap is { } swap)
            {
                w.Add(("memory", "memory.memsw.limit_in_bytes", S(swap)));
            }
            if (m.Reservation is { } res)
            {
                w.Add(("memory", "memory.soft_limit_in_bytes", S(res)));
            }
            if (m.Swappiness is { } sw and <= 100)
            {
                w.Add(("memory", "memory.swappiness", S(sw)));
            }
            if (m.DisableOOMKiller == true)
            {
                w.Add(("memory", "memory.oom_control", "1"));
            }
        }
        if (r.Cpu is { } c)
        {
            if (c.Shares is { } shares and > 0)
            {
                w.Add(("cpu", "cpu.shares", S(shares)));
            }
            if (c.Period is { } period and > 0)
            {
                w.Add(("cpu", "cpu.cfs_period_us", S(period)));
            }
            if (c.Quota is { } quota and not 0)
            {
                w.Add(("cpu", "cpu.cfs_quota_us", S(quota)));
            }
            if (!string.IsNullOrEmpty(c.Cpus))
            {
                w.Add(("cpuset", "cpuset.cpus", c.Cpus));
            }
            if (!string.IsNullOrEmpty(c.Mems))
            {
                w.Add(("cpuset", "cpuset.mems", c.Mems));
            }
        }
        if (r.Pids is { Limit: var pids } && pids != 0)
        {
            w.Add(("pids", "pids.max", pids < 0 ? "max" : S(pids)));
        }
        if (r.BlockIO is { } b)
        {
            if (b.Weight is { } weight)
            {
                w.Add(("blkio", "blkio.weight", S((ulong)weight)));
            }
            foreach (var d in b.ThrottleReadBpsDevice ?? [])
            {
                w.Add(("blkio", "blkio.throttle.read_bps_device", $"{d.Major}:{d.Minor} {d.Rate}"));
            }
            foreach (var d in b.ThrottleWriteBpsDevice ?? [])
            {
                w.Add(("blkio", "blkio.throttle.write_bps_device", $"{d.Major}:{d.Minor} {d.Rate}"));
            }
            foreach (var d in b.ThrottleReadIOPSDevice ?? [])
            {
                w.Add(("blkio", "blkio.throttle.read_iops_device", $"{d.Major}:{d.Minor} {d.Rate}"));
            }
            foreach (var d in b.ThrottleWriteIOPSDevice ?? [])
            {
                w.Add(("blkio", "blkio.throttle.write_iops_device", $"{d.Major}:{d.Minor} {d.Rate}"));
            }
        }
        foreach (var h in r.HugepageLimits ?? [])
        {
            w.Add(("hugetlb", $"hugetlb.{h.PageSize}.limit_in_bytes", S(h.Limit)));
        }
        return w;
    }

    /// <summary>(file, value) for cgroup v2, including the unified map as given.</summary>
    public static List<(string File, string Value)> V2(Resources? r)
    {
        var w = new List<(string, string)>();
        if (r is null)
        {
            return w;
        }
        if (r.Memory is { } m)
        {
            if (m.Limit is { } limit)
            {
                w.Add(("memory.max", limit < 0 ? "max" : S(limit)));
                // v1's memsw counts memory and swap together; v2's swap.max is swap alone.
                if (m.Swap is { } swap)
                {
                    w.Add(("memory.swap.max", swap < 0 ? "max" : S(Math.Max(0, swap - limit))));
                }
            }
            if (m.Reservation is { } res)
            {
                w.Add(("memory.low", S(res)));
            }
        }
        if (r.Cpu is { } c)
        {
            if (c.Shares is { } shares and > 0)
            {
                // runc's conversion of shares [2, 262144] to weight [1, 10000]
                w.Add(("cpu.weight", S(1 + ((shares - 2) * 9999 / 262142))));
            }
            if (c.Quota is not null || c.Period is not null)
            {
                string quota = c.Quota is { } q and > 0 ? S(q) : "max";
                w.Add(("cpu.max", $"{quota} {S(c.Period ?? 100000)}"));
            }
            if (!string.IsNullOrEmpty(c.Cpus))
            {
                w.Add(("cpuset.cpus", c.Cpus));
            }
            if (!string.IsNullOrEmpty(c.Mems))
            {
                w.Add(("cpuset.mems", c.Mems));
            }
        }
        if (r.Pids is { Limit: var pids } && pids != 0)
        {
            w.Add(("pids.max", pids < 0 ? "max" : S(pids)));
        }
        if (r.BlockIO is { Weight: { } weight })
        {
            w.Add(("io.weight", S(1 + (((ulong)weight - 10) * 9999 / 990))));
        }
        foreach (var h in r.HugepageLimits ?? [])
        {
            w.Add(($"hugetlb.{h.PageSize}.max", S(h.Limit)));
        }
        foreach (var (k, v) in r.Unified ?? [])
        {
            if (k.Contains('/') || k.StartsWith('.'))
            {
                throw SkiffException.Invalid($"linux.resources.unified: invalid file name \"{k}\"");
            }
            w.Add((k, v));
        }
        return w;
    }
}
