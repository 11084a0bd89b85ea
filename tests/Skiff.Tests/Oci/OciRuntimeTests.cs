using Skiff.Linux;
using Skiff.Runtime.Oci;
using Skiff.Tests.Fakes;

namespace Skiff.Tests.Oci;

public sealed class OciRuntimeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-oci-").FullName;
    private readonly RecordingSyscalls _sys = new();
    private readonly RecordingCgroup _cgroup = new();
    private readonly List<string> _warnings = [];

    public OciRuntimeTests()
    {
        OciRuntime.SeccompCompiler = Skiff.Oci.Seccomp.SeccompCompiler.Compile; // as skiff-runc wires it
        Directory.CreateDirectory(Path.Combine(_dir, "bundle", "rootfs"));
        File.WriteAllText(Path.Combine(_dir, "bundle", "config.json"), """
            {
              "ociVersion": "1.2.0",
              "root": { "path": "rootfs" },
              "process": { "args": ["sh"], "cwd": "/", "user": { "uid": 0, "gid": 0 } },
              "linux": { "namespaces": [ { "type": "mount" }, { "type": "pid" } ], "resources": { "pids": { "limit": 10 } } }
            }
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Root => Path.Combine(_dir, "state");

    private OciRuntime Runtime() => new(_sys, new ContainerStore(Root), rootless: false, _warnings.Add, (_, _, _) => _cgroup);

    [Fact]
    public void Create_claims_the_id_makes_the_cgroup_moves_the_child_in_before_it_goes_and_records_the_pid()
    {
        _sys.Reports.Enqueue(new ChildFailure(Interop.Shim.ReportCreated, 0, 0));
        Runtime().Create("c1", Path.Combine(_dir, "bundle"), new CreateOptions { PidFile = Path.Combine(_dir, "pid") });

        Assert.Equal(["create pids=10", "add 4242"], _cgroup.Calls);
        Assert.True(_sys.Calls.IndexOf("release go=True") > _sys.Calls.IndexOf("launch"));
        Assert.Equal("4242", File.ReadAllText(Path.Combine(_dir, "pid")));
        Assert.True(File.Exists(Path.Combine(Root, "c1", "exec.fifo")));
        var record = new ContainerStore(Root).Load("c1");
        Assert.Equal(4242, record.Pid);
        Assert.Equal(Path.Combine(_dir, "bundle"), record.Bundle);
        Assert.Empty(_sys.OpenFds);
        Assert.True(_sys.Plans[0].WaitForParent);
        Assert.Equal(0, _sys.Plans[0].ParentDeathSignal);
    }

    [Fact]
    public void A_child_that_fails_leaves_no_container_no_cgroup_and_no_process()
    {
        _sys.Reports.Enqueue(new ChildFailure(-1, ChildStep.PivotRoot, Errno.EINVAL));
        var e = Assert.ThrowsAny<SkiffException>(() => Runtime().Create("c2", Path.Combine(_dir, "bundle"), new CreateOptions()));

        Assert.Contains("pivot_root", e.Message);
        Assert.False(Directory.Exists(Path.Combine(Root, "c2")));
        Assert.Contains("destroy", _cgroup.Calls);
        Assert.Contains("signal 9", _sys.Calls);
        Assert.Empty(_sys.OpenFds);
    }

    [Fact]
    public void An_id_that_exists_is_refused_and_the_existing_container_is_untouched()
    {
        _sys.Reports.Enqueue(new ChildFailure(Interop.Shim.ReportCreated, 0, 0));
        Runtime().Create("c3", Path.Combine(_dir, "bundle"), new CreateOptions());

        var e = Assert.ThrowsAny<SkiffException>(() => Runtime().Create("c3", Path.Combine(_dir, "bundle"), new CreateOptions()));
        Assert.Equal(ErrorCategory.AlreadyExists, e.Category);
        Assert.Equal("container with id exists: c3", e.Message);
        Assert.True(File.Exists(Path.Combine(Root, "c3", "state.json")));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Ids_that_could_name_a_path_are_refused(string id)
    {
        Assert.ThrowsAny<SkiffException>(() => Runtime().Create(id, Path.Combine(_dir, "bundle"), new CreateOptions()));
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public void A_dead_container_is_stopped_and_delete_removes_its_cgroup_and_state()
    {
        _sys.Reports.Enqueue(new ChildFailure(Interop.Shim.ReportCreated, 0, 0));
        var rt = Runtime();
        rt.Create("c4", Path.Combine(_dir, "bundle"), new CreateOptions());
        // The fake's pid 4242 is not our child: give the record a pid that cannot be alive.
        var store = new ContainerStore(Root);
        var record = store.Load("c4");
        record.Pid = int.MaxValue - 1;
        store.Save(record);

        Assert.Equal("stopped", rt.State("c4").Status);
        Assert.ThrowsAny<SkiffException>(() => rt.Kill("c4", 15, all: false));
        rt.Delete("c4", force: false);
        Assert.Contains("destroy", _cgroup.Calls);
        Assert.False(Directory.Exists(Path.Combine(Root, "c4")));
        Assert.Throws<SkiffException>(() => rt.State("c4"));
    }

    private string SeccompBundle(string seccomp)
    {
        string bundle = Path.Combine(_dir, "seccomp-bundle");
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs"));
        File.WriteAllText(Path.Combine(bundle, "config.json"), $$"""
            {
              "ociVersion": "1.2.0",
              "root": { "path": "rootfs" },
              "annotations": { "a": "b" },
              "process": { "args": ["sh"], "cwd": "/", "user": { "uid": 0, "gid": 0 }, "noNewPrivileges": true },
              "linux": { "namespaces": [ { "type": "mount" }, { "type": "pid" } ], "seccomp": {{seccomp}} }
            }
            """);
        return bundle;
    }

    private const string Notify = """{ "names": [ "mkdir" ], "action": "SCMP_ACT_NOTIFY" }""";

    [Fact]
    public void A_notifying_filter_s_listener_goes_to_the_agent_with_the_container_process_state()
    {
        string bundle = SeccompBundle($$"""
            { "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock", "listenerMetadata": "meta", "syscalls": [ {{Notify}} ] }
            """);
        _sys.Reports.Enqueue(new ChildFailure(Interop.Shim.ReportSeccomp, 0, 0));
        _sys.Reports.Enqueue(new ChildFailure(Interop.Shim.ReportCreated, 0, 0));

        Runtime().Create("n1", bundle, new CreateOptions());

        // The pair is made before the clone; the child's end rides in the seccomp op.
        var op = Assert.Single(_sys.Plans[0].Ops, o => o.Kind == LaunchOpKind.Seccomp);
        Assert.Equal(LaunchOp.SeccompNewListener, op.U0 & LaunchOp.SeccompNewListener);
        Assert.Equal(101u, op.U1); // socketpair gave 100 (ours) and 101 (the child's)
        // On the report, before "created": receive, connect, send, in that order.
        int recv = _sys.Calls.IndexOf("recv-fd");
        Assert.True(_sys.Calls.IndexOf("socketpair") < _sys.Calls.IndexOf("launch") && _sys.Calls.IndexOf("launch") < recv);
        Assert.Equal("connect /run/agent.sock", _sys.Calls[recv + 1]);
        Assert.StartsWith("send-fd ", _sys.Calls[recv + 2]);
        Assert.Empty(_sys.OpenFds);

        using var sent = System.Text.Json.JsonDocument.Parse(Assert.Single(_sys.Sent));
        var root = sent.RootElement;
        Assert.Equal(["seccompFd"], root.GetProperty("fds").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(4242, root.GetProperty("pid").GetInt32());
        Assert.Equal("meta", root.GetProperty("metadata").GetString());
        var state = root.GetProperty("state");
        Assert.Equal("n1", state.GetProperty("id").GetString());
        Assert.Equal("creating", state.GetProperty("status").GetString());
        Assert.Equal(4242, state.GetProperty("pid").GetInt32());
        Assert.Equal(bundle, state.GetProperty("bundle").GetString());
        Assert.Equal("b", state.GetProperty("annotations").GetProperty("a").GetString());
        Assert.False(state.TryGetProperty("rootfs", out _)); // the spec's state, not runc's list entry
    }

    [Fact]
    public void An_agent_that_is_not_there_fails_create_with_runc_s_words_and_leaves_nothing()
    {
        string bundle = SeccompBundle($$"""{ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock", "syscalls": [ {{Notify}} ] }""");
        _sys.FailOn("connect", 111 /* ECONNREFUSED */);
        _sys.Reports.Enqueue(new ChildFailure(Interop.Shim.ReportSeccomp, 0, 0));

        var e = Assert.ThrowsAny<SkiffException>(() => Runtime().Create("n2", bundle, new CreateOptions()));

        Assert.StartsWith("failed to connect with seccomp agent specified in the seccomp profile: /run/agent.sock: ", e.Message);
        Assert.Contains("signal 9", _sys.Calls);
        Assert.False(Directory.Exists(Path.Combine(Root, "n2")));
        Assert.Empty(_sys.OpenFds);
    }

    [Theory]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ NOTIFY ] }""", "seccomp listenerPath is not set")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "agent.sock", "syscalls": [ NOTIFY ] }""", "\"agent.sock\" must be an absolute path")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m" }""", "listenerMetadata: set without a listenerPath")]
    public void Listener_settings_that_cannot_work_are_refused_before_anything_starts(string seccomp, string message)
    {
        string bundle = SeccompBundle(seccomp.Replace("NOTIFY", Notify));

        var e = Assert.ThrowsAny<SkiffException>(() => Runtime().Create("n3", bundle, new CreateOptions()));

        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("launch", _sys.Calls);
        Assert.False(Directory.Exists(Path.Combine(Root, "n3")));
    }

    [Fact]
    public void A_listener_path_without_a_notify_rule_is_ignored_as_the_spec_says_with_a_warning()
    {
        string bundle = SeccompBundle("""{ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock" }""");
        _sys.Reports.Enqueue(new ChildFailure(Interop.Shim.ReportCreated, 0, 0));

        Runtime().Create("n4", bundle, new CreateOptions());

        Assert.Contains(_warnings, w => w.Contains("listenerPath /run/agent.sock is ignored"));
        Assert.DoesNotContain("socketpair", _sys.Calls);
        Assert.Equal(0u, Assert.Single(_sys.Plans[0].Ops, o => o.Kind == LaunchOpKind.Seccomp).U0 & LaunchOp.SeccompNewListener);
    }
}
