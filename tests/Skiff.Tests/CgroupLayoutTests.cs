using Skiff.Linux;

namespace Skiff.Tests;

public class CgroupLayoutTests
{
    private const string Hybrid = """
        30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
        33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
        """;

    [Fact]
    public void Hybrid_v2_and_v1_hosts_are_told_apart()
    {
        Assert.Equal(CgroupVersion.Hybrid, CgroupLayout.Detect(Hybrid));
        Assert.Equal(CgroupVersion.V2, CgroupLayout.Detect("31 24 0:27 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate"));
        Assert.Equal(CgroupVersion.V1, CgroupLayout.Detect("33 30 0:29 / /sys/fs/cgroup/memory rw shared:14 - cgroup cgroup rw,memory"));
        Assert.Equal(CgroupVersion.None, CgroupLayout.Detect("22 1 0:5 / /proc rw - proc proc rw"));
    }
}
