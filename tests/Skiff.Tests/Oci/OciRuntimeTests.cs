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
}
