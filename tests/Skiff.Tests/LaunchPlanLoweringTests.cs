using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Tests;

public class LaunchPlanLoweringTests
{
    private static readonly ContainerDirectory Dir = new("/store/containers/abc");
    private static readonly ContainerUser Root = new(0, 0, [0, 10], "/root");
    private static readonly IdMapping Rootless = new(IdMapMode.Subordinate,
        [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)], [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)]);
    private static readonly IdMapping Single = new(IdMapMode.Single, [new IdRange(0, 1000, 1)], [new IdRange(0, 1000, 1)]);

    private static ContainerSpec Spec() => new()
    {
        Id = "0123456789abcdef0123",
        Layers = ["/layers/top", "/layers/base"],
        Args = ["sh", "-c", "true"],
    };

    [Fact]
    public void Rootless_plan_creates_a_user_namespace_and_waits_for_the_id_maps()
    {
        var plan = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, Root);

        Assert.Equal(CloneFlags.NewUser | CloneFlags.NewNs | CloneFlags.NewPid | CloneFlags.NewIpc | CloneFlags.NewUts | CloneFlags.NewNet,
            plan.CloneFlags);
        Assert.True(plan.WaitForParent);
        var overlay = Assert.Single(plan.Ops, o => o.Kind == LaunchOpKind.Overlay);
        Assert.Equal(["/layers/top", "/layers/base"], overlay.L0!);
        Assert.Equal("/store/containers/abc/upper", overlay.S0);
        Assert.Equal("/store/containers/abc/work", overlay.S1);
        Assert.Equal("/store/containers/abc/rootfs", overlay.S2);
        Assert.Equal(LaunchOpFlags.UserXattr, overlay.Flags);
    }

    [Fact]
    public void Rootful_plan_has_no_user_namespace_and_trusted_xattrs()
    {
        var plan = LaunchPlanLowering.Lower(Spec() with { Remove = true }, Dir, IdMapping.Host, Root);

        Assert.False(plan.CloneFlags.HasFlag(CloneFlags.NewUser));
        Assert.False(plan.WaitForParent);
        Assert.Equal(LaunchOpFlags.Volatile, plan.Ops.Single(o => o.Kind == LaunchOpKind.Overlay).Flags);
    }

    [Fact]
    public void The_order_is_private_mounts_overlay_root_then_filesystems_then_pivot_then_the_process()
    {
        var kinds = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, Root).Ops.Select(o => o.Kind).ToList();

        Assert.Equal(LaunchOpKind.Propagation, kinds[0]);
        Assert.Equal(LaunchOpKind.Overlay, kinds[1]);
        Assert.Equal(LaunchOpKind.Root, kinds[2]);
        int pivot = kinds.IndexOf(LaunchOpKind.PivotRoot);
        Assert.True(kinds.FindLastIndex(k => k is LaunchOpKind.MountFs or LaunchOpKind.Bind) < pivot);
        Assert.Equal(
            [LaunchOpKind.PivotRoot, LaunchOpKind.Hostname, LaunchOpKind.LoopbackUp, LaunchOpKind.StdinNull,
             LaunchOpKind.Chdir, LaunchOpKind.CapsBound, LaunchOpKind.Identity, LaunchOpKind.Caps, LaunchOpKind.Exec],
            kinds.Skip(pivot));
    }

    [Fact]
    public void Dev_is_a_tmpfs_with_the_hosts_device_nodes_bound_in_and_a_private_devpts()
    {
        var ops = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, Root).Ops;

        Assert.Contains(ops, o => o.Kind == LaunchOpKind.MountFs && o.S0 == "tmpfs" && o.S2 == "/dev");
        foreach (var node in new[] { "null", "zero", "full", "random", "urandom", "tty" })
        {
            Assert.Contains(ops, o => o.Kind == LaunchOpKind.Bind && o.S3 == "/dev/" + node && o.S2 == "/dev/" + node);
        }
        var pts = Assert.Single(ops, o => o.S0 == "devpts");
        Assert.Equal("newinstance,ptmxmode=0666,mode=0620,gid=5", pts.S1);
        Assert.Contains(ops, o => o.Kind == LaunchOpKind.Symlink && o.S2 == "/dev/ptmx" && o.S0 == "pts/ptmx");
        Assert.All(ops.Where(o => o.Kind is LaunchOpKind.MountFs or LaunchOpKind.Bind), o => Assert.StartsWith("/", o.S2));
    }

    [Fact]
    public void Without_gid_5_mapped_devpts_gets_no_gid_option()
    {
        var ops = LaunchPlanLowering.Lower(Spec(), Dir, Single, Root).Ops;

        Assert.Equal("newinstance,ptmxmode=0666,mode=0620", ops.Single(o => o.S0 == "devpts").S1);
        Assert.False(ops.Single(o => o.Kind == LaunchOpKind.Identity).Flags.HasFlag(LaunchOpFlags.SetGroups));
    }

    [Fact]
    public void Sysfs_is_read_only_and_falls_back_to_the_hosts_when_the_network_is_shared()
    {
        var own = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, Root).Ops.Single(o => o.S0 == "sysfs");
        Assert.True(((MountAttr)own.Attr).HasFlag(MountAttr.ReadOnly));
        Assert.Null(own.S3);

        var host = LaunchPlanLowering.Lower(Spec() with { Network = NetworkMode.Host }, Dir, Rootless, Root);
        var sys = host.Ops.Single(o => o.S0 == "sysfs");
        Assert.Equal("/sys", sys.S3);
        Assert.Equal(LaunchOpFlags.FallbackRbind, sys.Flags);
        Assert.False(host.CloneFlags.HasFlag(CloneFlags.NewNet));
        Assert.DoesNotContain(host.Ops, o => o.Kind == LaunchOpKind.LoopbackUp);
    }

    [Fact]
    public void A_tty_replaces_the_null_stdin_and_carries_the_window_size()
    {
        var spec = Spec() with { Tty = true, TerminalRows = 40, TerminalCols = 120 };
        var ops = LaunchPlanLowering.Lower(spec, Dir, Rootless, Root, ptySocketFd: 9).Ops;

        var pty = Assert.Single(ops, o => o.Kind == LaunchOpKind.OpenPty);
        Assert.Equal(9u, pty.U0);
        Assert.Equal((40u << 16) | 120u, pty.U1);
        Assert.DoesNotContain(ops, o => o.Kind == LaunchOpKind.StdinNull);
        Assert.Contains("TERM=xterm", ops[^1].L1!);
    }

    [Fact]
    public void Interactive_keeps_stdin()
    {
        var ops = LaunchPlanLowering.Lower(Spec() with { Interactive = true }, Dir, Rootless, Root).Ops;
        Assert.DoesNotContain(ops, o => o.Kind == LaunchOpKind.StdinNull);
    }

    [Fact]
    public void Exec_gets_the_argv_the_environment_and_the_containers_path()
    {
        var spec = Spec() with { Env = ["PATH=/opt/bin:/bin", "A=1", "A=2"], Hostname = "box", User = "0" };
        var plan = LaunchPlanLowering.Lower(spec, Dir, Rootless, Root);
        var exec = plan.Ops[^1];

        Assert.Equal(LaunchOpKind.Exec, exec.Kind);
        Assert.Equal(["sh", "-c", "true"], exec.L0!);
        Assert.Equal(["HOSTNAME=box", "HOME=/root", "PATH=/opt/bin:/bin", "A=2"], exec.L1!);
        Assert.Equal("/opt/bin:/bin", exec.S0);
        Assert.Equal("box", plan.Ops.Single(o => o.Kind == LaunchOpKind.Hostname).S0);
    }

    [Fact]
    public void The_default_hostname_is_the_short_id_and_the_default_path_is_dockers()
    {
        var plan = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, Root);

        Assert.Equal("0123456789ab", plan.Ops.Single(o => o.Kind == LaunchOpKind.Hostname).S0);
        Assert.Equal(LaunchPlanLowering.DefaultPath, plan.Ops[^1].S0);
        Assert.Contains("PATH=" + LaunchPlanLowering.DefaultPath, plan.Ops[^1].L1!);
    }

    [Fact]
    public void Identity_carries_uid_gid_and_supplementary_groups()
    {
        var user = new ContainerUser(1000, 1000, [1000, 10], "/home/user");
        var id = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, user).Ops.Single(o => o.Kind == LaunchOpKind.Identity);

        Assert.Equal(1000u, id.U0);
        Assert.Equal(1000u, id.U1);
        Assert.Equal([1000u, 10u], id.Ids!);
        Assert.Equal(2ul, id.Attr);
        Assert.Equal(LaunchOpFlags.SetGroups | LaunchOpFlags.KeepCaps, id.Flags);
        var caps = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, user).Ops.Single(o => o.Kind == LaunchOpKind.Caps);
        Assert.All(caps.Ids!, w => Assert.Equal(0u, w)); // a non-root user has no effective capabilities
    }

    [Fact]
    public void Root_gets_dockers_default_capabilities_and_nothing_more()
    {
        var ops = LaunchPlanLowering.Lower(Spec(), Dir, Rootless, Root).Ops;
        ulong expected = CapabilitySet.Mask(CapabilitySet.DockerDefault, "test");
        var bound = ops.Single(o => o.Kind == LaunchOpKind.CapsBound);
        Assert.Equal(expected, bound.Ids![0] | ((ulong)bound.Ids[1] << 32));
        var caps = ops.Single(o => o.Kind == LaunchOpKind.Caps);
        Assert.Equal(expected, caps.Ids![0] | ((ulong)caps.Ids[1] << 32));
        Assert.Equal(0ul, expected & (1UL << 21)); // no CAP_SYS_ADMIN
    }
}
