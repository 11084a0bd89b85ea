using Skiff.Linux;
using Skiff.Oci;
using Skiff.Runtime.Oci;

namespace Skiff.Tests.Oci;

public class OciLoweringTests
{
    private static SpecLoader.Loaded Loaded(Action<RuntimeSpec>? change = null)
    {
        var spec = new RuntimeSpec
        {
            OciVersion = "1.2.0",
            Root = new Root { Path = "/b/rootfs", Readonly = true },
            Hostname = "box",
            Process = new Skiff.Oci.Process
            {
                Args = ["sh"],
                Cwd = "/work",
                Env = ["PATH=/bin", "A=1"],
                User = new User { Uid = 1000, Gid = 1000, AdditionalGids = [10], Umask = 18 },
                Capabilities = new Skiff.Oci.Capabilities { Bounding = ["CAP_KILL", "CAP_CHOWN"], Effective = ["CAP_KILL"], Permitted = ["CAP_KILL"], Ambient = ["CAP_KILL"] },
                Rlimits = [new Rlimit { Type = "RLIMIT_NOFILE", Soft = 1024, Hard = 4096 }],
                NoNewPrivileges = true,
            },
            Mounts =
            [
                new Mount { Destination = "/proc", Type = "proc", Source = "proc" },
                new Mount { Destination = "/data", Type = "bind", Source = "/", Options = ["rbind", "ro", "rprivate"] },
                new Mount { Destination = "/tmp", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "size=1m", "mode=1777"] },
            ],
            Linux = new LinuxSpec
            {
                Namespaces = [new() { Type = "mount" }, new() { Type = "pid" }, new() { Type = "uts" }, new() { Type = "network", Path = "/run/netns/x" }],
                Sysctl = new() { ["net.ipv4.ip_forward"] = "1" },
                MaskedPaths = ["/proc/kcore"],
                ReadonlyPaths = ["/proc/sys"],
                Devices = [new Device { Type = "c", Path = "/dev/fuse", Major = 10, Minor = 229, FileMode = 438 }],
            },
        };
        change?.Invoke(spec);
        return new SpecLoader.Loaded(spec, "/b", "/b/rootfs", null);
    }

    private static readonly OciLaunchContext Ctx = new() { StartFifoFd = 7, Joins = [(CloneFlags.NewNet, 9)] };

    [Fact]
    public void New_namespaces_are_the_ones_without_a_path_and_joined_ones_come_first()
    {
        var plan = OciLowering.LowerCreate(Loaded(), Ctx);

        Assert.Equal(CloneFlags.NewNs | CloneFlags.NewPid | CloneFlags.NewUts, plan.CloneFlags);
        Assert.Equal(LaunchOpKind.SetNs, plan.Ops[0].Kind);
        Assert.Equal(9u, plan.Ops[0].U0);
        Assert.Equal((uint)CloneFlags.NewNet, plan.Ops[0].U1);
    }

    [Fact]
    public void The_rootfs_is_bound_onto_itself_before_it_becomes_the_root()
    {
        var ops = OciLowering.LowerCreate(Loaded(), Ctx).Ops;
        int bind = ops.FindIndex(o => o.Kind == LaunchOpKind.Bind && o.S3 == "/b/rootfs" && o.S2 == "/b/rootfs");
        int root = ops.FindIndex(o => o.Kind == LaunchOpKind.Root);
        int propagation = ops.FindIndex(o => o.Kind == LaunchOpKind.Propagation);

        Assert.True(propagation < bind && bind < root, "propagation, then the self bind, then the root");
        Assert.Equal(LaunchOp.MsRec | MountOptions.MsSlave, ops[propagation].Attr);
    }

    [Fact]
    public void Mounts_get_their_mountpoints_their_flags_and_their_propagation()
    {
        var ops = OciLowering.LowerCreate(Loaded(), Ctx).Ops;

        var data = ops.Single(o => o.Kind == LaunchOpKind.Bind && o.S2 == "/data");
        Assert.Equal("/", data.S3);
        Assert.Equal(LaunchOpFlags.Recursive, data.Flags);
        Assert.Equal((ulong)MountAttr.ReadOnly, data.Attr);
        int i = ops.IndexOf(data);
        Assert.Equal(LaunchOpKind.MkdirP, ops[i - 1].Kind);
        Assert.Equal(LaunchOpKind.SetAttr, ops[i + 1].Kind);
        Assert.Equal(MountOptions.MsPrivate, ops[i + 1].U0);

        var tmp = ops.Single(o => o.Kind == LaunchOpKind.MountFs && o.S2 == "/tmp");
        Assert.Equal("size=1m,mode=1777", tmp.S1);
        Assert.Equal((ulong)MountAttr.NoSuid, tmp.Attr);
    }

    [Fact]
    public void Devices_are_made_with_a_host_fallback_and_the_defaults_are_always_there()
    {
        var ops = OciLowering.LowerCreate(Loaded(), Ctx).Ops;
        var fuse = ops.Single(o => o.Kind == LaunchOpKind.Mknod && o.S2 == "/dev/fuse");
        Assert.Equal(0x2000u | 438u, fuse.U0);
        Assert.Equal(OciLowering.MakeDev(10, 229), fuse.Attr);
        Assert.Contains(ops, o => o.Kind == LaunchOpKind.Mknod && o.S2 == "/dev/null" && o.S3 == "/dev/null");
    }

    [Fact]
    public void After_pivot_come_masks_read_only_paths_the_read_only_root_and_the_hostname()
    {
        var ops = OciLowering.LowerCreate(Loaded(), Ctx).Ops;
        int pivot = ops.FindIndex(o => o.Kind == LaunchOpKind.PivotRoot);
        var after = ops.Skip(pivot + 1).ToList();

        Assert.Equal("/proc/kcore", after[0].S2);
        Assert.Equal(LaunchOpKind.Mask, after[0].Kind);
        Assert.Equal(LaunchOpFlags.ReadOnlyBind | LaunchOpFlags.Recursive | LaunchOpFlags.Optional, after[1].Flags);
        Assert.Equal("/", after[2].S2);
        Assert.Equal(LaunchOpKind.Hostname, after[3].Kind);
        Assert.Contains(ops.Take(pivot), o => o.Kind == LaunchOpKind.WriteFile && o.S2 == "/proc/sys/net/ipv4/ip_forward");
    }

    [Fact]
    public void The_process_drops_capabilities_keeps_them_across_the_uid_change_then_waits_for_start()
    {
        var ops = OciLowering.LowerCreate(Loaded(), Ctx with { Seccomp = (new byte[16], 1u) }).Ops;
        var kinds = ops.SkipWhile(o => o.Kind != LaunchOpKind.Rlimit).Select(o => o.Kind).ToList();

        Assert.Equal(
        [
            LaunchOpKind.Rlimit, LaunchOpKind.Umask, LaunchOpKind.Chdir, LaunchOpKind.CapsBound, LaunchOpKind.Identity,
            LaunchOpKind.Caps, LaunchOpKind.NoNewPrivs, LaunchOpKind.Seccomp, LaunchOpKind.WaitStart, LaunchOpKind.Exec,
        ], kinds);
        var identity = ops.Single(o => o.Kind == LaunchOpKind.Identity);
        Assert.Equal(LaunchOpFlags.SetGroups | LaunchOpFlags.KeepCaps, identity.Flags);
        Assert.Equal([1000u, 10u], identity.Ids!);
        var caps = ops.Single(o => o.Kind == LaunchOpKind.Caps);
        Assert.Equal(1u << 5, caps.Ids![0]); // effective CAP_KILL
        Assert.Equal(1u << 5, caps.Ids![4]); // ambient needs inheritable: added
        Assert.Equal(1u << 5, caps.Ids![6]);
        Assert.Equal("/bin", ops[^1].S0);
    }

    [Fact]
    public void Without_no_new_privs_seccomp_is_loaded_before_capabilities_are_dropped()
    {
        var ops = OciLowering.LowerCreate(Loaded(s => s.Process!.NoNewPrivileges = false), Ctx with { Seccomp = (new byte[16], 0u) }).Ops;
        Assert.True(ops.FindIndex(o => o.Kind == LaunchOpKind.Seccomp) < ops.FindIndex(o => o.Kind == LaunchOpKind.CapsBound));
        Assert.DoesNotContain(ops, o => o.Kind == LaunchOpKind.NoNewPrivs);
    }

    [Theory]
    [InlineData("CAP_FLY", "process.capabilities.bounding: unknown capability")]
    public void Unknown_capabilities_are_named(string cap, string message)
    {
        var e = Assert.ThrowsAny<SkiffException>(() =>
            OciLowering.LowerCreate(Loaded(s => s.Process!.Capabilities!.Bounding = [cap]), Ctx));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_terminal_needs_a_console_socket()
    {
        var e = Assert.ThrowsAny<SkiffException>(() => OciLowering.LowerCreate(Loaded(s => s.Process!.Terminal = true), Ctx));
        Assert.Contains("console-socket", e.Message);
        var ok = OciLowering.LowerCreate(Loaded(s => s.Process!.Terminal = true), Ctx with { ConsoleFd = 5 });
        Assert.Contains(ok.Ops, o => o.Kind == LaunchOpKind.OpenPty && o.U0 == 5);
    }

    [Fact]
    public void Exec_joins_namespaces_and_forks_into_a_joined_pid_namespace()
    {
        var ctx = new OciLaunchContext { Joins = [(CloneFlags.NewUser, 3), (CloneFlags.NewPid, 4), (CloneFlags.NewNs, 5)] };
        var plan = OciLowering.LowerExec(Loaded().Spec.Process!, null, ctx);

        Assert.Equal([LaunchOpKind.SetNs, LaunchOpKind.SetNs, LaunchOpKind.SetNs, LaunchOpKind.Fork], plan.Ops.Take(4).Select(o => o.Kind));
        Assert.Equal(CloneFlags.None, plan.CloneFlags);
        Assert.DoesNotContain(plan.Ops, o => o.Kind == LaunchOpKind.WaitStart);
    }

    [Fact]
    public void Create_container_hooks_run_before_pivot_and_start_container_hooks_after_the_wait()
    {
        var loaded = Loaded(spec => spec.Hooks = new Hooks
        {
            CreateContainer = [new Hook { Path = "/h/create", Args = ["create", "x"], Timeout = 3 }],
            StartContainer = [new Hook { Path = "/h/start" }],
        });
        var plan = OciLowering.LowerCreate(loaded, Ctx);
        var ops = plan.Ops;

        Assert.True(plan.SendsState);
        int create = ops.FindIndex(o => o.Kind == LaunchOpKind.Hook && o.S0 == "/h/create");
        Assert.Equal(LaunchOpKind.PivotRoot, ops[create + 1].Kind);
        Assert.Equal(3u, ops[create].U0);
        Assert.Equal(["create", "x"], ops[create].L0!);
        Assert.Equal("hooks.createContainer[0] /h/create", ops[create].Describe());
        Assert.Equal([LaunchOpKind.WaitStart, LaunchOpKind.Hook, LaunchOpKind.Exec], ops.TakeLast(3).Select(o => o.Kind));
        Assert.Equal(["/h/start"], ops[^2].L0!); // argv[0] defaults to the path

        Assert.False(OciLowering.LowerCreate(Loaded(), Ctx).SendsState);
        Assert.False(plan.KeepSync);
    }

    [Fact]
    public void Prestart_and_create_runtime_hooks_get_a_sync_point_before_the_create_container_hooks()
    {
        var plan = OciLowering.LowerCreate(Loaded(spec => spec.Hooks = new Hooks
        {
            Prestart = [new Hook { Path = "/h/pre" }],
            CreateContainer = [new Hook { Path = "/h/create" }],
        }), Ctx);

        Assert.True(plan.KeepSync);
        int sync = plan.Ops.FindIndex(o => o.Kind == LaunchOpKind.Sync);
        Assert.Equal("/h/create", plan.Ops[sync + 1].S0);
        Assert.Equal(LaunchOpKind.PivotRoot, plan.Ops[sync + 2].Kind);
        Assert.DoesNotContain(plan.Ops, o => o.Kind == LaunchOpKind.Hook && o.S0 == "/h/pre");
    }

    [Fact]
    public void The_cgroup_fd_and_preserved_fds_of_the_context_reach_the_plan()
    {
        var create = OciLowering.LowerCreate(Loaded(), Ctx with { CgroupFd = 12, PreserveFds = 2 });
        Assert.Equal(12, create.CgroupFd);
        Assert.Equal(2u, create.PreserveFds);
        var exec = OciLowering.LowerExec(Loaded().Spec.Process!, null, new OciLaunchContext { PreserveFds = 3 });
        Assert.Equal(3u, exec.PreserveFds);
        Assert.Equal(-1, exec.CgroupFd);
    }

    [Fact]
    public void A_new_time_namespace_is_unshared_by_the_child_with_its_offsets_not_cloned()
    {
        var plan = OciLowering.LowerCreate(Loaded(s =>
        {
            s.Linux!.Namespaces!.Add(new() { Type = "time" });
            s.Linux.TimeOffsets = new()
            {
                ["monotonic"] = new TimeOffset { Secs = 86400, Nanosecs = 5 },
                ["boottime"] = new TimeOffset { Secs = -7, Nanosecs = 0 },
            };
        }), Ctx);

        // CLONE_NEWTIME in a clone would freeze the offsets at zero (and it is CSIGNAL's bit in clone(2)).
        Assert.False(plan.CloneFlags.HasFlag(CloneFlags.NewTime));
        var time = Assert.Single(plan.Ops, o => o.Kind == LaunchOpKind.TimeNs);
        Assert.Equal("monotonic 86400 5\nboottime -7 0\n", time.S0);
        // After the joins (a joined user namespace owns it), before anything is mounted.
        int index = plan.Ops.IndexOf(time);
        Assert.Equal(LaunchOpKind.SetNs, plan.Ops[index - 1].Kind);
        Assert.True(index < plan.Ops.FindIndex(o => o.Kind == LaunchOpKind.Propagation));
    }

    [Fact]
    public void A_time_namespace_without_offsets_is_made_with_none_and_a_joined_one_is_left_to_setns()
    {
        var plain = OciLowering.LowerCreate(Loaded(s => s.Linux!.Namespaces!.Add(new() { Type = "time" })), Ctx);
        Assert.Null(Assert.Single(plain.Ops, o => o.Kind == LaunchOpKind.TimeNs).S0);

        var joined = OciLowering.LowerCreate(Loaded(s => s.Linux!.Namespaces!.Add(new() { Type = "time", Path = "/proc/1/ns/time" })),
            Ctx with { Joins = [(CloneFlags.NewTime, 11)] });
        Assert.DoesNotContain(joined.Ops, o => o.Kind == LaunchOpKind.TimeNs);
        Assert.Contains(joined.Ops, o => o.Kind == LaunchOpKind.SetNs && o.U0 == 11 && o.U1 == (uint)CloneFlags.NewTime);
        Assert.Equal(CloneFlags.NewTime, OciLowering.NamespaceFlag("time"));
    }

    [Theory]
    [InlineData("realtime", 0u, "unknown clock \"realtime\"")]
    [InlineData("monotonic", 1_000_000_000u, "linux.timeOffsets.monotonic.nanosecs")]
    public void Time_offsets_the_kernel_cannot_take_are_refused(string clock, uint nanos, string message)
    {
        var loaded = Loaded(s =>
        {
            s.Linux!.Namespaces!.Add(new() { Type = "time" });
            s.Linux.TimeOffsets = new() { [clock] = new TimeOffset { Secs = 1, Nanosecs = nanos } };
        });
        var e = Assert.Throws<SkiffException>(() => OciLowering.LowerCreate(loaded, Ctx));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_notifying_filter_hands_its_listener_back_over_the_context_socket()
    {
        var ctx = Ctx with { Seccomp = (new byte[16], LaunchOp.SeccompNewListener), SeccompListenerFd = 13 };
        var late = Assert.Single(OciLowering.LowerCreate(Loaded(), ctx).Ops, o => o.Kind == LaunchOpKind.Seccomp);
        var early = Assert.Single(OciLowering.LowerCreate(Loaded(s => s.Process!.NoNewPrivileges = false), ctx).Ops,
            o => o.Kind == LaunchOpKind.Seccomp);
        var exec = Assert.Single(OciLowering.LowerExec(Loaded().Spec.Process!, null, ctx).Ops, o => o.Kind == LaunchOpKind.Seccomp);

        foreach (var op in new[] { late, early, exec })
        {
            Assert.Equal(LaunchOp.SeccompNewListener, op.U0);
            Assert.Equal(13u, op.U1);
        }
        Assert.Contains("listener", late.Describe());
    }
}
