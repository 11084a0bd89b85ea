using Skiff.Engine.Containers;
using Skiff.Linux;
using Skiff.Runtime;
using Skiff.Runtime.Oci;
using static Skiff.Tests.Containers.SpecFixture;

namespace Skiff.Tests.Containers;

/// <summary>The launch plan of a built spec: what the child will do, in order.</summary>
public class SpecLoweringTests
{
    private static LaunchPlan Lower(Action<ContainerDefinition>? change = null, SpecContext? ctx = null)
    {
        var def = Def(change);
        ctx ??= Ctx();
        return SpecBuilder.Lower(SpecBuilder.Build(def, ctx), def, ctx);
    }

    private static int Index(LaunchPlan plan, LaunchOpKind kind, string? target = null) =>
        plan.Ops.FindIndex(o => o.Kind == kind && (target is null || o.S2 == target));

    [Fact]
    public void The_root_is_the_overlay_of_the_layers_not_a_self_bind()
    {
        var plan = Lower();
        var ops = plan.Ops;

        Assert.Equal(LaunchOpKind.Propagation, ops[0].Kind);
        var overlay = ops[1];
        Assert.Equal(LaunchOpKind.Overlay, overlay.Kind);
        Assert.Equal(["/layers/top", "/layers/base"], overlay.L0);
        Assert.Equal(Ctx().Dir.Upper, overlay.S0);
        Assert.Equal(Ctx().Dir.Work, overlay.S1);
        Assert.Equal(Ctx().Dir.RootFs, overlay.S2);
        Assert.Equal(LaunchOpFlags.None, overlay.Flags);
        Assert.Equal(LaunchOpKind.Root, ops[2].Kind);
        Assert.Equal(Ctx().Dir.RootFs, ops[2].S2);
        Assert.DoesNotContain(ops, o => o.Kind == LaunchOpKind.Bind && o.S3 == Ctx().Dir.RootFs);
    }

    [Fact]
    public void The_fds_and_flags_of_this_start_reach_the_plan()
    {
        var plan = Lower(ctx: Ctx() with { CgroupFd = 11, ParentDeathSignal = 9, CloneParent = true, StartFifoFd = 12 });

        Assert.Equal(11, plan.CgroupFd);
        Assert.Equal(9, plan.ParentDeathSignal);
        Assert.True(plan.CloneParent);
        Assert.True(plan.WaitForParent);
        Assert.Equal(12u, plan.Ops[Index(plan, LaunchOpKind.WaitStart)].U0);
    }

    [Fact]
    public void Rm_mounts_the_overlay_volatile_and_rootless_with_userxattr()
    {
        var plan = Lower(d => d.HostConfig.AutoRemove = true, Ctx(Rootless));

        Assert.Equal(LaunchOpFlags.Volatile | LaunchOpFlags.UserXattr, plan.Ops.Single(o => o.Kind == LaunchOpKind.Overlay).Flags);
        Assert.Equal(CloneFlags.NewUser | CloneFlags.NewNs | CloneFlags.NewNet | CloneFlags.NewUts | CloneFlags.NewPid | CloneFlags.NewIpc,
            plan.CloneFlags);
    }

    [Fact]
    public void Mounts_then_devices_then_pivot_then_masks_then_the_process()
    {
        var plan = Lower(d => d.HostConfig.Tmpfs = new() { ["/run"] = "" });

        int proc = Index(plan, LaunchOpKind.MountFs, "/proc");
        int sys = Index(plan, LaunchOpKind.MountFs, "/sys");
        int run = Index(plan, LaunchOpKind.MountFs, "/run");
        int null_ = Index(plan, LaunchOpKind.Mknod, "/dev/null");
        int sysctl = Index(plan, LaunchOpKind.WriteFile, "/proc/sys/net/ipv4/ip_unprivileged_port_start");
        int pivot = Index(plan, LaunchOpKind.PivotRoot);
        int mask = Index(plan, LaunchOpKind.Mask, "/proc/kcore");
        int ro = Index(plan, LaunchOpKind.SetAttr, "/proc/sys");
        int host = Index(plan, LaunchOpKind.Hostname);
        int lo = Index(plan, LaunchOpKind.LoopbackUp);
        int stdin = Index(plan, LaunchOpKind.StdinNull);
        int seccomp = Index(plan, LaunchOpKind.Seccomp);
        int bound = Index(plan, LaunchOpKind.CapsBound);
        int identity = Index(plan, LaunchOpKind.Identity);
        int exec = Index(plan, LaunchOpKind.Exec);

        Assert.True(2 < proc && proc < sys && sys < run && run < null_ && null_ < sysctl && sysctl < pivot, "mounts, devices, sysctls before pivot_root");
        Assert.True(pivot < mask && mask < ro && ro < host && host < lo && lo < stdin && stdin < seccomp, "masks, hostname, lo, stdin after it");
        Assert.True(seccomp < bound && bound < identity && identity < exec, "seccomp is loaded while root still has CAP_SYS_ADMIN");
        Assert.Equal(exec, plan.Ops.Count - 1);
        Assert.Equal(["sh", "-c", "true"], plan.Ops[exec].L0);
        Assert.Equal("0123456789ab", plan.Ops[host].S0);
        Assert.True(plan.Ops[seccomp].Attr > 100, "Docker's profile is a few hundred instructions");
    }

    [Fact]
    public void No_new_privileges_loads_seccomp_after_the_identity()
    {
        var plan = Lower(d => d.HostConfig.SecurityOpt = ["no-new-privileges"]);

        int nnp = Index(plan, LaunchOpKind.NoNewPrivs);
        Assert.True(Index(plan, LaunchOpKind.Identity) < nnp && nnp < Index(plan, LaunchOpKind.Seccomp));
    }

    [Fact]
    public void Unconfined_and_privileged_load_no_filter()
    {
        Assert.Equal(-1, Index(Lower(d => d.HostConfig.SecurityOpt = ["seccomp=unconfined"]), LaunchOpKind.Seccomp));
        var privileged = Lower(d => d.HostConfig.Privileged = true);
        Assert.Equal(-1, Index(privileged, LaunchOpKind.Seccomp));
        Assert.Equal(-1, Index(privileged, LaunchOpKind.Mask));
        Assert.True(privileged.Ops.Count(o => o.Kind == LaunchOpKind.Mknod) > 6, "the host's devices");
    }

    [Fact]
    public void Host_network_brings_no_loopback_up_and_shows_the_hosts_sys()
    {
        var plan = Lower(d => d.HostConfig.NetworkMode = "host", Ctx(Rootless));

        Assert.Equal(-1, Index(plan, LaunchOpKind.LoopbackUp));
        Assert.False(plan.CloneFlags.HasFlag(CloneFlags.NewNet));
        var sys = plan.Ops[Index(plan, LaunchOpKind.MountFs, "/sys")];
        Assert.Equal("/sys", sys.S3); // rootless cannot mount sysfs without its own netns: the host's, read-only
        Assert.Equal(LaunchOpFlags.FallbackRbind, sys.Flags);
    }

    [Fact]
    public void A_tty_opens_the_pty_and_keeps_stdin_and_interactive_keeps_stdin()
    {
        var tty = Lower(d => d.Config.Tty = true, Ctx() with { ConsoleFd = 9, TerminalSize = (30, 100) });
        var pty = tty.Ops[Index(tty, LaunchOpKind.OpenPty)];
        Assert.Equal(9u, pty.U0);
        Assert.Equal((30u << 16) | 100u, pty.U1);
        Assert.Equal(-1, Index(tty, LaunchOpKind.StdinNull));

        Assert.Equal(-1, Index(Lower(d => d.Config.OpenStdin = true), LaunchOpKind.StdinNull));
    }

    [Fact]
    public void Read_only_root_makes_the_working_directory_first()
    {
        var plan = Lower(d => { d.HostConfig.ReadonlyRootfs = true; d.Config.WorkingDir = "/srv/new"; });

        int mkdir = Index(plan, LaunchOpKind.MkdirP, "/srv/new");
        int ro = Index(plan, LaunchOpKind.SetAttr, "/");
        Assert.True(Index(plan, LaunchOpKind.PivotRoot) < mkdir && mkdir < ro);
        Assert.Equal((ulong)MountAttr.ReadOnly, plan.Ops[ro].Attr);
    }

    [Fact]
    public void Rlimits_capabilities_and_the_identity_reach_the_plan()
    {
        var plan = Lower(d => d.HostConfig.Ulimits = [new Ulimit { Name = "nofile", Soft = 100, Hard = 200 }],
            Ctx(RootlessSingle, new ContainerUser(0, 0, [0], "/root")));

        var rlimit = plan.Ops[Index(plan, LaunchOpKind.Rlimit)];
        Assert.Equal(7u, rlimit.U0);
        Assert.Equal((100UL, 200UL), (rlimit.Attr, rlimit.Attr2));
        var identity = plan.Ops[Index(plan, LaunchOpKind.Identity)];
        Assert.False(identity.Flags.HasFlag(LaunchOpFlags.SetGroups)); // a single mapping cannot setgroups
        var caps = plan.Ops[Index(plan, LaunchOpKind.Caps)];
        ulong effective = caps.Ids![0] | ((ulong)caps.Ids[1] << 32);
        Assert.Equal(ContainerCapabilities.DockerDefault, effective);
    }

    [Fact]
    public void Init_and_etc_files_are_bound_from_the_host()
    {
        var plan = Lower(d => d.HostConfig.Init = true, Ctx() with { InitPath = "/bin/sh", HostsPath = "/etc/hosts" });

        var init = plan.Ops[Index(plan, LaunchOpKind.Bind, "/sbin/docker-init")];
        Assert.Equal("/bin/sh", init.S3);
        Assert.Equal((ulong)MountAttr.ReadOnly, init.Attr);
        Assert.Equal(LaunchOpKind.MkFileP, plan.Ops[Index(plan, LaunchOpKind.Bind, "/sbin/docker-init") - 1].Kind);
        Assert.Equal("/etc/hosts", plan.Ops[Index(plan, LaunchOpKind.Bind, "/etc/hosts")].S3);
        Assert.Equal(["/sbin/docker-init", "--", "sh", "-c", "true"], plan.Ops[^1].L0);
    }
}
