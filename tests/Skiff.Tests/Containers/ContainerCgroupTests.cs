using Skiff.Engine.Containers;
using Skiff.Linux;
using Skiff.Runtime.Cgroups;
using Skiff.Tests.Fakes;
using static Skiff.Tests.Containers.SpecFixture;

namespace Skiff.Tests.Containers;

/// <summary>The limits policy against fake cgroup trees (a directory standing in for /sys/fs/cgroup).</summary>
public sealed class ContainerCgroupTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-cgroupfs").FullName;
    private readonly List<(string? Path, string Id, bool Rootless)> _asked = [];

    public void Dispose() => Directory.Delete(_root, true);

    private ICgroup Factory(string? path, string id, bool rootless)
    {
        _asked.Add((path, id, rootless));
        return new RecordingCgroup();
    }

    private ICgroup For(Action<HostConfig> limits, bool rootless, CgroupVersion layout) =>
        ContainerCgroup.For(Def(d => limits(d.HostConfig)), rootless, Factory, layout, _root);

    /// <summary>The user@UID.service directory of whoever runs the tests, as systemd delegates it.</summary>
    private string Delegate(string controllers)
    {
        uint uid = Interop.Libc.geteuid();
        string dir = Path.Combine(_root, "user.slice", $"user-{uid}.slice", $"user@{uid}.service");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cgroup.controllers"), controllers + "\n");
        return $"/user.slice/user-{uid}.slice/user@{uid}.service";
    }

    [Fact]
    public void Rootless_on_a_v1_host_refuses_a_limit_and_says_what_is_missing()
    {
        var e = Assert.Throws<SkiffException>(() => For(h => h.Memory = 64 << 20, rootless: true, CgroupVersion.Hybrid));

        Assert.Equal(ErrorCategory.Unavailable, e.Category);
        Assert.Equal("--memory needs a cgroup v2 subtree delegated to this user; this host has cgroup hybrid (v1 controllers, cgroup2 at " +
                     "/sys/fs/cgroup/unified), which only root can use: drop --memory or run as root", e.Message);
        Assert.Empty(_asked);
    }

    [Fact]
    public void Without_a_limit_a_container_never_fails_for_lack_of_cgroups()
    {
        Assert.IsType<NoCgroup>(For(_ => { }, rootless: true, CgroupVersion.Hybrid));
        Assert.IsType<NoCgroup>(For(_ => { }, rootless: true, CgroupVersion.V2)); // nothing delegated
        Assert.IsType<NoCgroup>(For(h => h.PidsLimit = -1, rootless: false, CgroupVersion.None));
        Assert.Empty(_asked);
    }

    [Fact]
    public void Rootless_on_v2_without_delegation_names_every_flag()
    {
        var e = Assert.Throws<SkiffException>(() => For(h => { h.Memory = 64 << 20; h.NanoCpus = 1_000_000_000; h.PidsLimit = 10; },
            rootless: true, CgroupVersion.V2));

        Assert.Equal("--memory, --cpus and --pids-limit need a cgroup v2 subtree delegated to this user (systemd's user@.service Delegate=yes); " +
                     "this host has none: drop --memory, --cpus and --pids-limit or run as root", e.Message);
    }

    [Fact]
    public void Rootless_on_v2_with_delegation_gets_a_cgroup_under_the_users_service()
    {
        string service = Delegate("cpu memory pids");

        For(h => h.Memory = 64 << 20, rootless: true, CgroupVersion.V2);

        Assert.Equal((service + "/skiff/" + Id, Id, true), Assert.Single(_asked));
    }

    [Fact]
    public void A_controller_that_is_not_delegated_is_named()
    {
        string service = Delegate("memory pids");

        var e = Assert.Throws<SkiffException>(() => For(h => h.NanoCpus = 500_000_000, rootless: true, CgroupVersion.V2));
        Assert.Equal($"--cpus needs the cpu controller, which {_root}{service} (systemd: Delegate= of user@{Interop.Libc.geteuid()}.service) " +
                     "does not have (it has: memory pids): drop --cpus", e.Message);
    }

    [Fact]
    public void Root_uses_v1_on_a_hybrid_host_and_any_container_gets_one()
    {
        For(_ => { }, rootless: false, CgroupVersion.Hybrid);
        For(h => h.PidsLimit = 100, rootless: false, CgroupVersion.Hybrid);

        Assert.Equal([(null, Id, false), (null, Id, false)], _asked);
    }

    [Fact]
    public void No_cgroup_filesystem_refuses_limits_even_for_root()
    {
        var e = Assert.Throws<SkiffException>(() => For(h => h.PidsLimit = 5, rootless: false, CgroupVersion.None));
        Assert.Equal("--pids-limit needs cgroups, and no cgroup filesystem is mounted on this host: drop --pids-limit", e.Message);
    }

    [Fact]
    public void The_layout_is_read_from_the_tree()
    {
        Assert.Equal(CgroupVersion.None, ContainerCgroup.Detect(_root));
        Directory.CreateDirectory(Path.Combine(_root, "memory"));
        Assert.Equal(CgroupVersion.V1, ContainerCgroup.Detect(_root));
        Directory.CreateDirectory(Path.Combine(_root, "unified"));
        File.WriteAllText(Path.Combine(_root, "unified", "cgroup.controllers"), "hugetlb\n");
        Assert.Equal(CgroupVersion.Hybrid, ContainerCgroup.Detect(_root));
        Assert.False(ContainerCgroup.SwapLimitSupported(_root));
        File.WriteAllText(Path.Combine(_root, "memory", "memory.memsw.limit_in_bytes"), "");
        Assert.True(ContainerCgroup.SwapLimitSupported(_root));
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "cpu memory pids\n");
        Assert.Equal(CgroupVersion.V2, ContainerCgroup.Detect(_root));
    }

    [Fact]
    public void Oom_kills_are_read_from_v1_and_v2_counters()
    {
        Directory.CreateDirectory(Path.Combine(_root, "skiff", "c1"));
        File.WriteAllText(Path.Combine(_root, "skiff", "c1", "memory.events"), "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n");
        Assert.True(ContainerCgroup.OomKilled(new CgroupV2(_root, "skiff/c1"), _root));

        Directory.CreateDirectory(Path.Combine(_root, "memory", "skiff", "c2"));
        File.WriteAllText(Path.Combine(_root, "memory", "skiff", "c2", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
        var v1 = new CgroupV1("skiff/c2", new Dictionary<string, string> { ["memory"] = Path.Combine(_root, "memory") });
        Assert.False(ContainerCgroup.OomKilled(v1, _root));
        File.WriteAllText(Path.Combine(_root, "memory", "skiff", "c2", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        Assert.Equal(3, ContainerCgroup.OomKillCount(v1, _root));

        Assert.False(ContainerCgroup.OomKilled(new NoCgroup("none"), _root));
        Assert.False(ContainerCgroup.OomKilled(new CgroupV2(_root, "skiff/gone"), _root));
        Assert.Equal(0, ContainerCgroup.ParseOomKill("oom_kill_disable 1\n"));
    }
}
