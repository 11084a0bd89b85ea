using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Containers;

/// <summary>skiff pause/unpause: the cgroup freezer as root (v1 on this host); rootless without a delegated cgroup, Docker's refusal.</summary>
[Collection(SkiffCollection.Name)]
public sealed class PauseTests(SkiffInstall install)
{
    private const string Ticker = "i=0; while :; do i=$((i+1)); echo $i > /tmp/tick; usleep 20000; done";

    private static async Task<string> Tick(DetachedContainer c)
    {
        var r = (await c.Skiff(["cp", $"{c.Name}:/tmp/tick", "-"])).AssertExit(0);
        return r.Stdout;
    }

    [Fact]
    public async Task A_paused_container_does_nothing_until_it_is_unpaused()
    {
        await using var c = await DetachedContainer.StartAsync(install, Mode.Root, "sh", "-c", Ticker);
        await Task.Delay(200);

        var paused = (await c.Skiff(["pause", c.Name])).AssertExit(0);
        Assert.Equal(c.Name + "\n", paused.Stdout);
        string frozen = await Tick(c);
        await Task.Delay(300);
        Assert.Equal(frozen, await Tick(c));
        // top reads /proc: it works on a paused container, as Docker's does.
        (await c.Skiff(["top", c.Name])).AssertExit(0);

        var again = (await c.Skiff(["pause", c.Name])).AssertExit(1);
        Assert.Equal($"Error response from daemon: Container {c.Id} is already paused\n", again.Stderr);

        Assert.Equal(c.Name + "\n", (await c.Skiff(["unpause", c.Name])).AssertExit(0).Stdout);
        await Task.Delay(300);
        Assert.NotEqual(frozen, await Tick(c));
        var notPaused = (await c.Skiff(["unpause", c.Name])).AssertExit(1);
        Assert.Equal($"Error response from daemon: Container {c.Id} is not paused\n", notPaused.Stderr);
    }

    [Theory, BothModes]
    public async Task A_stopped_container_cannot_be_paused(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");
        (await c.Skiff(["stop", "-t", "1", c.Name])).AssertExit(0);
        var r = (await c.Skiff(["pause", c.Name, "nope"])).AssertExit(1);
        Assert.Equal($"Error response from daemon: Container {c.Id} is not running\nError response from daemon: No such container: nope\n", r.Stderr);
    }

    [Fact]
    public async Task Rootless_without_a_delegated_cgroup_pause_is_refused_and_says_why()
    {
        await using var c = await DetachedContainer.StartAsync(install, Mode.Rootless, "sh", "-c", Ticker);
        var r = (await c.Skiff(["pause", c.Name])).AssertExit(1);
        Assert.StartsWith($"Error response from daemon: Cannot pause container {c.Id}: pausing needs the container's own cgroup", r.Stderr);
        Assert.Contains("cgroup v2", r.Stderr);
        string before = await Tick(c);
        await Task.Delay(300);
        Assert.NotEqual(before, await Tick(c));
    }
}
