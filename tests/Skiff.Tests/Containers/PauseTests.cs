using Skiff.Engine.Containers;
using Skiff.Runtime.Cgroups;

namespace Skiff.Tests.Containers;

/// <summary>
/// pause/unpause with the real freezer: a process put in the cgroup the run path would give
/// the container (ContainerCgroup: cgroup v1 as root on this host) stops and starts again.
/// </summary>
public sealed class PauseTests : IDisposable
{
    private readonly TestContainer _c = TestContainer.Create("pausable");
    private ICgroup? _cgroup;

    public void Dispose()
    {
        // Thawed first: a frozen process does not act on SIGKILL.
        try
        {
            _cgroup?.Freeze(false);
        }
        catch (SkiffException)
        {
        }
        _c.Dispose();
        _cgroup?.Destroy();
    }

    /// <summary>A shell appending a line every 20 ms to a file, in the container's cgroup; returns the file.</summary>
    private string StartTicker(bool inCgroup = true)
    {
        string file = Path.Combine(_c.Root, "ticks");
        int pid = _c.Run("/bin/sh", "-c", $"while :; do echo t >> '{file}'; sleep 0.02; done");
        if (inCgroup)
        {
            _cgroup = ContainerCgroup.For(_c.Definition, rootless: false);
            _cgroup.Create(null);
            _cgroup.AddProcess(pid);
        }
        _c.MarkRunning(pid);
        WaitForGrowth(file);
        return file;
    }

    private static long Size(string file) => File.Exists(file) ? new FileInfo(file).Length : 0;

    private static bool WaitForGrowth(string file)
    {
        long before = Size(file);
        for (int i = 0; i < 100; i++)
        {
            Thread.Sleep(20);
            if (Size(file) > before)
            {
                return true;
            }
        }
        return false;
    }

    [Fact]
    public void Pause_freezes_every_process_and_unpause_lets_them_run_again()
    {
        string ticks = StartTicker();
        ContainerPause.Pause(_c.Store, _c.Name);

        Assert.Equal("paused", _c.Store.State(_c.Id).Status);
        Assert.True(_cgroup!.IsFrozen());
        Assert.True(File.Exists(Path.Combine(_c.Dir.Path, "paused")));
        Thread.Sleep(50); // a write already under way may land
        long frozenAt = Size(ticks);
        Thread.Sleep(300);
        Assert.Equal(frozenAt, Size(ticks));

        ContainerPause.Unpause(_c.Store, _c.Name);
        Assert.Equal("running", _c.Store.State(_c.Id).Status);
        Assert.False(_cgroup.IsFrozen());
        Assert.False(File.Exists(Path.Combine(_c.Dir.Path, "paused")));
        Assert.True(WaitForGrowth(ticks), "the container did not run again after unpause");
    }

    [Fact]
    public void Pausing_twice_unpausing_twice_and_pausing_a_stopped_container_are_dockers_errors()
    {
        StartTicker();
        ContainerPause.Pause(_c.Store, _c.Name);
        Assert.Equal($"Container {_c.Id} is already paused", Assert.Throws<SkiffException>(() => ContainerPause.Pause(_c.Store, _c.Name)).Message);
        ContainerPause.Unpause(_c.Store, _c.Name);
        Assert.Equal($"Container {_c.Id} is not paused", Assert.Throws<SkiffException>(() => ContainerPause.Unpause(_c.Store, _c.Name)).Message);

        _c.MarkExited();
        var e = Assert.Throws<SkiffException>(() => ContainerPause.Pause(_c.Store, _c.Name));
        Assert.Equal(ErrorCategory.Conflict, e.Category);
        Assert.Equal($"Container {_c.Id} is not running", e.Message);
    }

    [Fact]
    public void A_container_outside_a_cgroup_of_its_own_cannot_be_paused_and_says_why()
    {
        string ticks = StartTicker(inCgroup: false);
        var e = Assert.Throws<SkiffException>(() => ContainerPause.Pause(_c.Store, _c.Name));
        Assert.Equal(ErrorCategory.Unavailable, e.Category);
        Assert.StartsWith($"Cannot pause container {_c.Id}: pausing needs the container's own cgroup", e.Message);
        Assert.Equal("running", _c.Store.State(_c.Id).Status);
        Assert.True(WaitForGrowth(ticks));
    }

    [Fact]
    public void The_freezer_thaws_a_paused_container_for_stop_and_forgets_the_mark()
    {
        string ticks = StartTicker();
        ContainerPause.Pause(_c.Store, _c.Name);
        Assert.True(ContainerFreezer.IsMarked(_c.Store, _c.Id));
        Assert.True(ContainerFreezer.TryThaw(_c.Store, _c.Id));
        Assert.False(ContainerFreezer.IsMarked(_c.Store, _c.Id));
        Assert.True(WaitForGrowth(ticks));
    }
}
