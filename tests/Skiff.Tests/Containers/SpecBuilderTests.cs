using Skiff.Engine.Containers;
using Skiff.Linux;
using Skiff.Oci;
using Skiff.Runtime;
using static Skiff.Tests.Containers.SpecFixture;

namespace Skiff.Tests.Containers;

public class SpecBuilderTests
{
    [Fact]
    public void Defaults_are_dockers_namespaces_hostname_cwd_and_args()
    {
        var spec = Build();

        Assert.Equal(["mount", "network", "uts", "pid", "ipc"], spec.Linux!.Namespaces!.Select(n => n.Type));
        Assert.All(spec.Linux.Namespaces!, n => Assert.Null(n.Path));
        Assert.Equal("0123456789ab", spec.Hostname);
        Assert.Null(spec.Domainname);
        Assert.Equal("/", spec.Process!.Cwd);
        Assert.Equal(["sh", "-c", "true"], spec.Process.Args);
        Assert.False(spec.Process.Terminal);
        Assert.False(spec.Process.NoNewPrivileges);
        Assert.Null(spec.Process.Rlimits);
        Assert.Equal("/var/lib/skiff/containers/" + Id + "/rootfs", spec.Root!.Path);
        Assert.False(spec.Root.Readonly);
        Assert.Null(spec.Linux.UidMappings);
    }

    [Fact]
    public void Environment_follows_dockers_order_and_later_values_win()
    {
        var spec = Build(d => d.Config.Env = ["A=1", "HOME=/custom", "A=2"], Ctx(user: new ContainerUser(0, 0, [0], "/root")));

        Assert.Equal(["PATH=" + LaunchPlanLowering.DefaultPath, "HOSTNAME=0123456789ab", "A=2", "HOME=/custom"], spec.Process!.Env);
    }

    [Fact]
    public void A_tty_gets_a_terminal_TERM_and_the_console_size()
    {
        var spec = Build(d => d.Config.Tty = true, Ctx() with { TerminalSize = (40, 120) });

        Assert.True(spec.Process!.Terminal);
        Assert.Equal(40u, spec.Process.ConsoleSize!.Height);
        Assert.Equal(120u, spec.Process.ConsoleSize.Width);
        Assert.Contains("TERM=xterm", spec.Process.Env!);
        Assert.Contains("HOME=/root", spec.Process.Env!);

        var fromApi = Build(d => { d.Config.Tty = true; d.HostConfig.ConsoleSize = [24, 80]; });
        Assert.Equal(24u, fromApi.Process!.ConsoleSize!.Height);
    }

    [Fact]
    public void Hostname_domainname_and_working_dir_come_from_the_config()
    {
        var spec = Build(d => { d.Config.Hostname = "web"; d.Config.Domainname = "example.org"; d.Config.WorkingDir = "/srv/app"; });

        Assert.Equal("web", spec.Hostname);
        Assert.Equal("example.org", spec.Domainname);
        Assert.Equal("/srv/app", spec.Process!.Cwd);
        Assert.Contains("HOSTNAME=web", spec.Process.Env!);

        var rootless = Assert.Throws<SkiffException>(() => Build(d => d.Config.Domainname = "example.org", Ctx(Rootless)));
        Assert.Equal("--domainname is not supported by rootless skiff yet: drop --domainname or run as root", rootless.Message);

        var bad = Assert.Throws<SkiffException>(() => Build(d => d.Config.WorkingDir = "srv"));
        Assert.Contains("it needs to be an absolute path", bad.Message);
    }

    [Fact]
    public void Host_network_shares_the_namespace_and_the_hosts_name()
    {
        var spec = Build(d => d.HostConfig.NetworkMode = "host");

        Assert.DoesNotContain(spec.Linux!.Namespaces!, n => n.Type == "network");
        Assert.Contains(spec.Linux.Namespaces!, n => n.Type == "uts");
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), spec.Hostname);
        Assert.Null(spec.Linux.Sysctl);
    }

    [Fact]
    public void An_own_network_namespace_gets_dockers_sysctls_but_not_ping_in_a_user_namespace()
    {
        var root = Build();
        Assert.Equal("0", root.Linux!.Sysctl!["net.ipv4.ip_unprivileged_port_start"]);
        Assert.Equal("0 2147483647", root.Linux.Sysctl["net.ipv4.ping_group_range"]);

        var rootless = Build(ctx: Ctx(Rootless));
        Assert.Equal("0", rootless.Linux!.Sysctl!["net.ipv4.ip_unprivileged_port_start"]);
        Assert.False(rootless.Linux.Sysctl.ContainsKey("net.ipv4.ping_group_range"));
    }

    [Fact]
    public void Unknown_network_modes_are_refused()
    {
        var e = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.NetworkMode = "container:x"));
        Assert.Contains("network mode \"container:x\" is not supported", e.Message);
    }

    [Fact]
    public void Rootless_gets_a_user_namespace_with_the_maps_unless_it_runs_inside_the_keepers()
    {
        var spec = Build(ctx: Ctx(Rootless));
        Assert.Equal("user", spec.Linux!.Namespaces![0].Type);
        Assert.Equal([(0u, 1000u, 1u), (1u, 100000u, 65536u)], spec.Linux.UidMappings!.Select(m => (m.ContainerId, m.HostId, m.Size)));
        Assert.Equal(2, spec.Linux.GidMappings!.Count);

        var joined = Build(ctx: Ctx(Rootless with { Joined = true }));
        Assert.DoesNotContain(joined.Linux!.Namespaces!, n => n.Type == "user");
        Assert.Null(joined.Linux.UidMappings);
    }

    [Fact]
    public void A_cgroup_namespace_only_on_a_v2_host()
    {
        Assert.DoesNotContain(Build().Linux!.Namespaces!, n => n.Type == "cgroup");
        var v2 = Build(ctx: Ctx() with { Cgroups = CgroupVersion.V2 });
        Assert.Contains(v2.Linux!.Namespaces!, n => n.Type == "cgroup");
    }

    [Fact]
    public void Root_holds_dockers_capabilities_another_user_only_bounds_them()
    {
        var root = Build().Process!.Capabilities!;
        Assert.Equal(14, root.Bounding!.Count);
        Assert.Equal(root.Bounding, root.Effective);
        Assert.Equal(root.Bounding, root.Permitted);
        Assert.Null(root.Inheritable);
        Assert.Null(root.Ambient);
        Assert.Contains("CAP_NET_BIND_SERVICE", root.Bounding);
        Assert.DoesNotContain("CAP_SYS_ADMIN", root.Bounding);

        var user = Build(ctx: Ctx(user: new ContainerUser(1000, 1000, [1000, 10], "/home/u"))).Process!;
        Assert.Equal(14, user.Capabilities!.Bounding!.Count);
        Assert.Null(user.Capabilities.Effective);
        Assert.Null(user.Capabilities.Permitted);
        Assert.Equal(1000u, user.User.Uid);
        Assert.Equal([1000u, 10u], user.User.AdditionalGids);
        Assert.Contains("HOME=/home/u", user.Env!);
    }

    [Theory]
    [InlineData(new[] { "sys_admin" }, new string[0], "CAP_SYS_ADMIN", true)]
    [InlineData(new[] { "CAP_SYS_PTRACE" }, new string[0], "CAP_SYS_PTRACE", true)]
    [InlineData(new string[0], new[] { "net_raw" }, "CAP_NET_RAW", false)]
    [InlineData(new string[0], new[] { "all" }, "CAP_CHOWN", false)]
    [InlineData(new[] { "ALL" }, new[] { "CAP_SYS_ADMIN" }, "CAP_SYS_MODULE", true)]
    [InlineData(new[] { "ALL" }, new[] { "CAP_SYS_ADMIN" }, "CAP_SYS_ADMIN", false)]
    [InlineData(new[] { "chown" }, new[] { "ALL" }, "CAP_CHOWN", true)]
    public void Cap_add_and_cap_drop_work_as_in_docker(string[] add, string[] drop, string cap, bool present)
    {
        var caps = Build(d => { d.HostConfig.CapAdd = [.. add]; d.HostConfig.CapDrop = [.. drop]; }).Process!.Capabilities!.Bounding!;

        Assert.Equal(present, caps.Contains(cap));
    }

    [Fact]
    public void Drop_all_keeps_only_what_is_added()
    {
        var caps = Build(d => { d.HostConfig.CapAdd = ["NET_BIND_SERVICE"]; d.HostConfig.CapDrop = ["ALL"]; }).Process!.Capabilities!.Bounding;

        Assert.Equal(["CAP_NET_BIND_SERVICE"], caps);
    }

    [Theory]
    [InlineData("foo", null, "invalid CapAdd: unknown capability: \"CAP_FOO\"")]
    [InlineData(null, "cap_bar", "invalid CapDrop: unknown capability: \"CAP_BAR\"")]
    public void An_unknown_capability_is_dockers_error(string? add, string? drop, string message)
    {
        var e = Assert.Throws<SkiffException>(() => Build(d =>
        {
            d.HostConfig.CapAdd = add is null ? null : [add];
            d.HostConfig.CapDrop = drop is null ? null : [drop];
        }));
        Assert.Equal(message, e.Message);
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
    }

    [Fact]
    public void A_capability_skiff_itself_lacks_cannot_be_added()
    {
        int missing = Enumerable.Range(0, ContainerCapabilities.LastCap + 1).FirstOrDefault(b => (ContainerCapabilities.All & (1UL << b)) == 0, -1);
        if (missing < 0)
        {
            return; // this environment has them all
        }
        string name = CapabilitySet.Names[missing];
        var e = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.CapAdd = [name]));
        Assert.Equal($"invalid CapAdd: capability not supported by your kernel or not available in the current environment: \"{name}\"", e.Message);
        Assert.DoesNotContain(name, Build(d => d.HostConfig.Privileged = true).Process!.Capabilities!.Bounding!);
    }

    [Fact]
    public void Privileged_gets_everything_and_no_confinement()
    {
        var spec = Build(d => d.HostConfig.Privileged = true);

        Assert.Equal(System.Numerics.BitOperations.PopCount(ContainerCapabilities.All), spec.Process!.Capabilities!.Bounding!.Count);
        Assert.Null(spec.Linux!.Seccomp);
        Assert.Null(spec.Linux.MaskedPaths);
        Assert.Null(spec.Linux.ReadonlyPaths);
        Assert.DoesNotContain("ro", MountAt(spec, "/sys").Options!);
        Assert.DoesNotContain("ro", MountAt(spec, "/sys/fs/cgroup").Options!);
        Assert.Contains(spec.Linux.Devices!, d => d.Path == "/dev/null" && d.Type == "c" && d.Major == 1 && d.Minor == 3);
        Assert.DoesNotContain(spec.Linux.Devices!, d => d.Path.StartsWith("/dev/pts/", StringComparison.Ordinal) || d.Path == "/dev/console");
        var rule = Assert.Single(spec.Linux.Resources!.Devices!);
        Assert.True(rule.Allow);
        Assert.Null(rule.Type);
    }

    [Fact]
    public void Masked_and_read_only_paths_are_dockers()
    {
        var linux = Build().Linux!;

        Assert.Equal(
            ["/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/sched_debug",
             "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware"],
            linux.MaskedPaths!.Take(12));
        Assert.All(linux.MaskedPaths!.Skip(12), p => Assert.Matches("^/sys/devices/system/cpu/cpu[0-9]+/thermal_throttle$", p));
        Assert.Equal(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"], linux.ReadonlyPaths);

        var unconfined = Build(d => d.HostConfig.SecurityOpt = ["systempaths=unconfined"]).Linux!;
        Assert.Null(unconfined.MaskedPaths);
        Assert.Null(unconfined.ReadonlyPaths);
    }

    [Fact]
    public void Roots_containers_get_dockers_device_cgroup_rootless_ones_none()
    {
        var rules = Build().Linux!.Resources!.Devices!;
        Assert.False(rules[0].Allow);
        Assert.Equal("rwm", rules[0].Access);
        Assert.Contains(rules, r => r.Allow && r.Type == "c" && r.Major == 1 && r.Minor == 3);
        Assert.Contains(rules, r => !r.Allow && r.Major == 10 && r.Minor == 229);

        Assert.Null(Build(ctx: Ctx(Rootless)).Linux!.Resources!.Devices);

        // For a cgroup made before the spec: the same resources, device rules included.
        var alone = SpecBuilder.Resources(Def(d => d.HostConfig.PidsLimit = 5), rootless: false);
        Assert.Equal(rules.Count, alone.Devices!.Count);
        Assert.Equal(5L, alone.Pids!.Limit);
        Assert.Null(SpecBuilder.Resources(Def(), rootless: true).Devices);
    }

    [Fact]
    public void Ulimits_become_rlimits_and_bad_ones_are_dockers_errors()
    {
        var rlimits = Build(d => d.HostConfig.Ulimits =
        [
            new Ulimit { Name = "nofile", Soft = 1024, Hard = 2048 },
            new Ulimit { Name = "core", Soft = -1, Hard = -1 },
            new Ulimit { Name = "nofile", Soft = 10, Hard = 20 },
        ]).Process!.Rlimits!;
        Assert.Equal(2, rlimits.Count);
        Assert.Contains(rlimits, r => r.Type == "RLIMIT_CORE" && r.Soft == ulong.MaxValue && r.Hard == ulong.MaxValue);
        Assert.Contains(rlimits, r => r.Type == "RLIMIT_NOFILE" && r.Soft == 10 && r.Hard == 20);

        var name = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.Ulimits = [new Ulimit { Name = "files", Soft = 1, Hard = 1 }]));
        Assert.Equal("invalid ulimit type: files", name.Message);
        var order = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.Ulimits = [new Ulimit { Name = "nproc", Soft = 20, Hard = 10 }]));
        Assert.Equal("ulimit soft limit must be less than or equal to hard limit: 20 > 10", order.Message);
    }

    [Fact]
    public void Read_only_root_leaves_dev_and_tmpfs_writable()
    {
        var spec = Build(d => { d.HostConfig.ReadonlyRootfs = true; d.HostConfig.Tmpfs = new() { ["/run"] = "" }; },
            Ctx() with { HostsPath = "/tmp" });

        Assert.True(spec.Root!.Readonly);
        foreach (var writable in new[] { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/run" })
        {
            Assert.DoesNotContain("ro", MountAt(spec, writable).Options!);
        }
        Assert.Contains("ro", MountAt(spec, "/sys").Options!);
        Assert.Contains("ro", MountAt(spec, "/etc/hosts").Options!);
    }

    [Fact]
    public void Init_binds_catatonit_and_prefixes_the_command()
    {
        var spec = Build(d => d.HostConfig.Init = true, Ctx() with { InitPath = "/bin/sh" });

        Assert.Equal(["/sbin/docker-init", "--", "sh", "-c", "true"], spec.Process!.Args);
        var init = MountAt(spec, "/sbin/docker-init");
        Assert.Equal("/bin/sh", init.Source);
        Assert.Equal(["bind", "ro"], init.Options);
        Assert.Same(init, spec.Mounts![^1]);

        var missing = Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.Init = true, Ctx() with { InitPath = "/nonexistent/catatonit" }));
        Assert.Contains("catatonit", missing.Message);
        Assert.Contains("/nonexistent/catatonit", missing.Message);
    }

    [Fact]
    public void Security_opts_as_docker_reads_them()
    {
        Assert.True(Build(d => d.HostConfig.SecurityOpt = ["no-new-privileges"]).Process!.NoNewPrivileges);
        Assert.True(Build(d => d.HostConfig.SecurityOpt = ["no-new-privileges:true"]).Process!.NoNewPrivileges);
        Assert.False(Build(d => d.HostConfig.SecurityOpt = ["no-new-privileges=false"]).Process!.NoNewPrivileges);
        Assert.Null(Build(d => d.HostConfig.SecurityOpt = ["seccomp=unconfined"]).Linux!.Seccomp);
        Assert.NotNull(Build(d => d.HostConfig.SecurityOpt = ["seccomp=builtin", "label=disable", "apparmor=unconfined"]).Linux!.Seccomp);

        Assert.Equal("invalid --security-opt 2: \"foo=bar\"",
            Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.SecurityOpt = ["foo=bar"])).Message);
        Assert.Equal("invalid --security-opt 1: \"nonsense\"",
            Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.SecurityOpt = ["nonsense"])).Message);
        Assert.Equal("invalid --security-opt 2: \"no-new-privileges=maybe\"",
            Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.SecurityOpt = ["no-new-privileges=maybe"])).Message);
    }

    [Fact]
    public void Resources_follow_dockers_rules_and_messages()
    {
        var r = Build(d => { d.HostConfig.Memory = 64 << 20; d.HostConfig.NanoCpus = 500_000_000; d.HostConfig.PidsLimit = 100; }).Linux!.Resources!;
        Assert.Equal(64L << 20, r.Memory!.Limit);
        Assert.Equal(50_000L, r.Cpu!.Quota);
        Assert.Equal(100_000UL, r.Cpu.Period);
        Assert.Equal(100L, r.Pids!.Limit);
        if (ContainerCgroup.SwapLimitSupported())
        {
            Assert.Equal(128L << 20, r.Memory.Swap); // Docker: twice the memory by default
        }

        var none = Build(d => d.HostConfig.PidsLimit = -1).Linux!.Resources!;
        Assert.Null(none.Pids);
        Assert.Null(none.Memory);
        Assert.Null(none.Cpu);

        Assert.Equal("Minimum memory limit allowed is 6MB",
            Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.Memory = 4 << 20)).Message);
        Assert.Equal("You should always set the Memory limit when using Memoryswap limit, see usage",
            Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.MemorySwap = 64 << 20)).Message);
        Assert.Equal("Minimum memoryswap limit should be larger than memory limit, see usage",
            Assert.Throws<SkiffException>(() => Build(d => { d.HostConfig.Memory = 64 << 20; d.HostConfig.MemorySwap = 32 << 20; })).Message);
        int cpus = Environment.ProcessorCount;
        Assert.Equal($"Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available",
            Assert.Throws<SkiffException>(() => Build(d => d.HostConfig.NanoCpus = (cpus + 1) * 1_000_000_000L)).Message);
    }

    [Fact]
    public void Nothing_is_made_when_a_later_check_fails()
    {
        string missing = Path.Combine(Path.GetTempPath(), "skiff-spec-" + Guid.NewGuid().ToString("N"));

        Assert.Throws<SkiffException>(() => Build(d => { d.HostConfig.Binds = [missing + ":/data"]; d.HostConfig.Memory = 1; }));
        Assert.False(Directory.Exists(missing));

        Build(d => d.HostConfig.Binds = [missing + ":/data"]);
        Assert.True(Directory.Exists(missing)); // -v makes a missing host directory, as Docker does
        Directory.Delete(missing);
    }

    [Fact]
    public void Without_a_command_there_is_nothing_to_run()
    {
        var e = Assert.Throws<SkiffException>(() => Build(d => d.Path = ""));
        Assert.Equal("no command specified", e.Message);
    }
}
