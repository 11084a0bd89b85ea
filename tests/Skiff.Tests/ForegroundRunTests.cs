using Skiff.Linux;
using Skiff.Runtime;
using Skiff.Tests.Fakes;

namespace Skiff.Tests;

public class ForegroundRunTests
{
    private static readonly ContainerDirectory Dir = new("/store/containers/abc");
    private static readonly ContainerUser Root = new(0, 0, [0], "/root");

    private static readonly IdMapping Subordinate = new(IdMapMode.Subordinate,
        [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)],
        [new IdRange(0, 1000, 1), new IdRange(1, 100000, 65536)]);

    private static readonly IdMapping Single = new(IdMapMode.Single, [new IdRange(0, 1000, 1)], [new IdRange(0, 1000, 1)]);

    private static ContainerSpec Spec(bool tty = false) => new()
    {
        Id = "abcdef0123456789",
        Layers = ["/rootfs"],
        Args = ["/bin/true"],
        Tty = tty,
        Remove = true,
    };

    [Fact]
    public void Rootless_run_maps_ids_before_the_go_byte_then_cleans_up_inside_the_user_namespace()
    {
        var sys = new RecordingSyscalls { ExitCode = 7 };
        int code = new ForegroundRun(sys).Execute(Spec(), Dir, Subordinate, Root);

        Assert.Equal(7, code);
        Assert.Equal(
        [
            "hold-signals True", "mkdir /store/containers", "mkdir /store/containers/abc", "mkdir /store/containers/abc/upper",
            "mkdir /store/containers/abc/work", "mkdir /store/containers/abc/rootfs",
            "launch", "open-ns 4242 user",
            "run newuidmap 4242 0 1000 1 1 100000 65536", "run newgidmap 4242 0 1000 1 1 100000 65536",
            "release go=True", "await-exec", "wait-forwarding pty=-1",
            "rmtree /store/containers/abc userns=103", "hold-signals False",
        ], sys.Calls);
        Assert.Empty(sys.OpenFds);
    }

    [Fact]
    public void Single_mapping_denies_setgroups_before_writing_the_maps()
    {
        var sys = new RecordingSyscalls();
        new ForegroundRun(sys).Execute(Spec(), Dir, Single, Root);

        int deny = sys.Calls.IndexOf("write /proc/4242/setgroups deny");
        Assert.True(deny >= 0);
        Assert.Equal("write /proc/4242/uid_map 0 1000 1", sys.Calls[deny + 1]);
        Assert.Equal("write /proc/4242/gid_map 0 1000 1", sys.Calls[deny + 2]);
    }

    [Fact]
    public void Inside_the_keepers_namespace_no_user_namespace_is_made_and_no_maps_are_written()
    {
        var joined = Subordinate with { Joined = true };
        var sys = new RecordingSyscalls();
        new ForegroundRun(sys).Execute(Spec(), Dir, joined, Root);

        Assert.False(sys.Plans[0].CloneFlags.HasFlag(CloneFlags.NewUser));
        Assert.False(sys.Plans[0].WaitForParent);
        Assert.DoesNotContain(sys.Calls, c => c.StartsWith("run new", StringComparison.Ordinal) || c.StartsWith("open-ns", StringComparison.Ordinal));
        Assert.Equal("rmtree /store/containers/abc userns=-1", sys.Calls[^2]);
        // still rootless: overlay xattrs in the user namespace
        Assert.Equal(LaunchOpFlags.UserXattr | LaunchOpFlags.Volatile, sys.Plans[0].Ops.Single(o => o.Kind == LaunchOpKind.Overlay).Flags);
    }

    [Fact]
    public void Rootful_run_writes_no_maps_and_removes_the_directory_directly()
    {
        var sys = new RecordingSyscalls();
        new ForegroundRun(sys).Execute(Spec(), Dir, IdMapping.Host, Root);

        Assert.DoesNotContain(sys.Calls, c => c.StartsWith("run new", StringComparison.Ordinal) || c.StartsWith("write", StringComparison.Ordinal));
        Assert.DoesNotContain("open-ns 4242 user", sys.Calls);
        Assert.Equal("rmtree /store/containers/abc userns=-1", sys.Calls[^2]);
        Assert.False(sys.Plans[0].WaitForParent);
    }

    [Fact]
    public void A_failed_id_map_releases_the_child_without_go_reaps_it_and_removes_everything()
    {
        var sys = new RecordingSyscalls().FailOn("run newgidmap", Errno.EPERM);

        var e = Assert.Throws<SystemCallException>(() => new ForegroundRun(sys).Execute(Spec(), Dir, Subordinate, Root));

        Assert.Equal(Errno.EPERM, e.Code);
        int failed = sys.Calls.FindIndex(c => c.StartsWith("run newgidmap", StringComparison.Ordinal));
        Assert.Equal(["release go=False", "wait", "rmtree /store/containers/abc userns=103", "hold-signals False"], sys.Calls.Skip(failed + 1));
        Assert.Empty(sys.OpenFds);
    }

    [Fact]
    public void A_command_not_found_in_the_child_is_a_127_error_and_leaves_nothing()
    {
        var sys = new RecordingSyscalls();
        var spec = Spec() with { Args = ["nonexistent"] };
        var plan = LaunchPlanLowering.Lower(spec, Dir, Subordinate, Root);
        sys.ExecFailure = new ChildFailure(plan.Ops.Count - 1, ChildStep.Exec, Errno.ENOENT);

        var e = Assert.Throws<SkiffException>(() => new ForegroundRun(sys).Execute(spec, Dir, Subordinate, Root));

        Assert.Equal(ErrorCategory.CommandNotFound, e.Category);
        Assert.Equal("exec: \"nonexistent\": executable file not found in $PATH", e.Message);
        Assert.Equal(["await-exec", "wait", "rmtree /store/containers/abc userns=103", "hold-signals False"], sys.Calls.TakeLast(4));
        Assert.Empty(sys.OpenFds);
    }

    [Fact]
    public void A_mount_failure_names_the_operation_and_the_path()
    {
        var sys = new RecordingSyscalls();
        var plan = LaunchPlanLowering.Lower(Spec(), Dir, Subordinate, Root);
        int proc = plan.Ops.FindIndex(o => o.Kind == LaunchOpKind.MountFs && o.S0 == "proc");
        sys.ExecFailure = new ChildFailure(proc, ChildStep.FsConfig, Errno.EPERM);

        var e = Assert.Throws<SkiffException>(() => new ForegroundRun(sys).Execute(Spec(), Dir, Subordinate, Root));

        Assert.Equal(ErrorCategory.Internal, e.Category);
        Assert.Equal("container setup failed: mount proc on /proc: fsconfig: Operation not permitted", e.Message);
    }

    [Fact]
    public void A_directory_that_cannot_be_made_is_removed_with_what_was_made_before_it()
    {
        var sys = new RecordingSyscalls().FailOn("mkdir /store/containers/abc/work", Errno.ENOSPC);

        Assert.Throws<SystemCallException>(() => new ForegroundRun(sys).Execute(Spec(), Dir, Subordinate, Root));

        Assert.Equal("rmtree /store/containers/abc userns=-1", sys.Calls[^2]);
        Assert.DoesNotContain("launch", sys.Calls);
    }

    [Fact]
    public void A_clone_failure_removes_the_directory()
    {
        var sys = new RecordingSyscalls().FailOn("launch", Errno.ENOSPC);

        Assert.Throws<SystemCallException>(() => new ForegroundRun(sys).Execute(Spec(), Dir, Subordinate, Root));

        Assert.Equal("rmtree /store/containers/abc userns=-1", sys.Calls[^2]);
    }

    [Fact]
    public void With_a_tty_the_child_end_of_the_socket_goes_into_the_plan_and_is_closed_in_the_parent()
    {
        var sys = new RecordingSyscalls();
        new ForegroundRun(sys).Execute(Spec(tty: true), Dir, Subordinate, Root);

        var pty = Assert.Single(sys.Plans[0].Ops, o => o.Kind == LaunchOpKind.OpenPty);
        Assert.Equal(101u, pty.U0);
        Assert.Contains("recv-fd", sys.Calls);
        Assert.DoesNotContain(100, sys.OpenFds);
        Assert.DoesNotContain(101, sys.OpenFds);
    }
}
