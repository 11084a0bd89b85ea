using Skiff.Oci;
using Skiff.Runtime.Cgroups;

namespace Skiff.Tests.Oci;

public class CgroupTests
{
    [Theory]
    [InlineData(null, "abc", "/user.slice", "skiff/abc")]
    [InlineData("/default/abc", "abc", "/x", "default/abc")]
    [InlineData("pods/abc", "abc", "/user.slice/session-1.scope", "user.slice/session-1.scope/pods/abc")]
    [InlineData("machine.slice:libpod:abc", "abc", "/", "machine.slice/libpod-abc.scope")]
    [InlineData("system-foo.slice:crio:abc", "abc", "/", "system.slice/system-foo.slice/crio-abc.scope")]
    public void Cgroups_paths_resolve_as_runc_resolves_them(string? spec, string id, string own, string expected) =>
        Assert.Equal(expected, CgroupFactory.RelativePath(spec, id, own));

    [Fact]
    public void Resources_become_v1_files()
    {
        var r = new Resources
        {
            Memory = new Memory { Limit = 1 << 20, Swap = 2 << 20 },
            Cpu = new Cpu { Quota = 50000, Period = 100000, Shares = 512, Cpus = "0" },
            Pids = new Pids { Limit = 64 },
        };
        Assert.Equal(
        [
            ("memory", "memory.limit_in_bytes", "1048576"), ("memory", "memory.memsw.limit_in_bytes", "2097152"),
            ("cpu", "cpu.shares", "512"), ("cpu", "cpu.cfs_period_us", "100000"), ("cpu", "cpu.cfs_quota_us", "50000"),
            ("cpuset", "cpuset.cpus", "0"), ("pids", "pids.max", "64"),
        ], CgroupResources.V1(r));
    }

    [Fact]
    public void Resources_become_v2_files_with_runcs_conversions()
    {
        var r = new Resources
        {
            Memory = new Memory { Limit = 1 << 20, Swap = 3 << 20 },
            Cpu = new Cpu { Quota = 50000, Period = 100000, Shares = 1024 },
            Pids = new Pids { Limit = -1 },
            Unified = new() { ["memory.high"] = "max" },
        };
        Assert.Equal(
        [
            ("memory.max", "1048576"), ("memory.swap.max", "2097152"), ("cpu.weight", "39"), ("cpu.max", "50000 100000"),
            ("pids.max", "max"), ("memory.high", "max"),
        ], CgroupResources.V2(r));
        Assert.Throws<SkiffException>(() => CgroupResources.V2(new Resources { Unified = new() { ["../x"] = "1" } }));
    }

    [Fact]
    public void Without_a_usable_cgroup_limits_are_refused_with_the_reason()
    {
        var none = new NoCgroup("rootless containers cannot use cgroup v1");
        none.Create(null);
        none.Create(new Resources());
        var e = Assert.Throws<SkiffException>(() => none.Create(new Resources { Pids = new Pids { Limit = 10 } }));
        Assert.Contains("rootless containers cannot use cgroup v1", e.Message);
    }

    [Fact]
    public void V1_hierarchies_are_read_from_mountinfo()
    {
        const string info = """
            33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory
            34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct
            35 30 0:31 / /sys/fs/cgroup/unified rw shared:16 - cgroup2 cgroup2 rw
            """;
        var h = CgroupFactory.V1Hierarchies(info);
        Assert.Equal("/sys/fs/cgroup/memory", h["memory"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", h["cpu"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", h["cpuacct"]);
        Assert.False(h.ContainsKey("unified"));
    }
}
