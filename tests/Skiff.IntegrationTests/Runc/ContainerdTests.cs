using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>containerd (Debian's, a daemon of the test's own) running containers through skiff-runc: ctr run --runc-binary.</summary>
[Collection(SkiffCollection.Name)]
public sealed class ContainerdTests(SkiffInstall install)
{
    [Fact]
    public async Task Ctr_run_rm_prints_and_returns_the_exit_code()
    {
        await using var podman = await PodmanStore.CreateAsync(install, Mode.Root);
        await using var containerd = await StartWithImageAsync(podman);
        string name = PodmanStore.NewName("ctr");

        var result = await containerd.Ctr(["run", .. RuncFlags(containerd), "--rm", PodmanStore.Image, name,
            "sh", "-c", "echo hi from containerd; exit 3"]);

        Assert.True(result.ExitCode == 3, $"expected exit 3, got {result}\n--- containerd log\n{containerd.Log()}");
        Assert.Equal("hi from containerd\n", result.Stdout);
        Assert.Equal("", (await containerd.Ctr("containers", "list", "--quiet")).AssertExit(0).Stdout);
        Assert.False(Directory.Exists(Path.Combine(containerd.RuncRoot, "default", name)), "skiff-runc state left behind");
    }

    [Fact]
    public async Task Ctr_run_d_then_task_exec_kill_and_delete()
    {
        await using var podman = await PodmanStore.CreateAsync(install, Mode.Root);
        await using var containerd = await StartWithImageAsync(podman);
        string name = PodmanStore.NewName("ctrd");

        var started = await containerd.Ctr(["run", "-d", .. RuncFlags(containerd), PodmanStore.Image, name, "sleep", "60"]);
        Assert.True(started.ExitCode == 0, $"{started}\n--- containerd log\n{containerd.Log()}");
        // The task is skiff-runc's: its state is under the root the shim was given.
        var state = (await RuncState(containerd, name)).AssertExit(0);
        Assert.Contains("\"status\": \"running\"", state.Stdout);
        Assert.Matches($@"(?m)^{name}\s+\d+\s+RUNNING\s*$", (await containerd.Ctr("tasks", "list")).AssertExit(0).Stdout);

        var exec = await containerd.Ctr("tasks", "exec", "--exec-id", "probe", name, "sh", "-c", "echo pid 1 is $(cat /proc/1/comm); exit 5");
        exec.AssertExit(5);
        Assert.Equal("pid 1 is sleep\n", exec.Stdout); // in the task's pid namespace

        (await containerd.Ctr("tasks", "kill", "--signal", "KILL", name)).AssertExit(0);
        await WaitForTaskStatusAsync(containerd, name, "STOPPED");
        (await containerd.Ctr("tasks", "delete", name)).AssertExit(0);
        (await containerd.Ctr("containers", "delete", name)).AssertExit(0);
        Assert.Equal("", (await containerd.Ctr("containers", "list", "--quiet")).AssertExit(0).Stdout);
        Assert.False(Directory.Exists(Path.Combine(containerd.RuncRoot, "default", name)), "skiff-runc state left behind");
    }

    private string[] RuncFlags(ContainerdDaemon containerd) =>
        ["--runc-binary", install.SkiffRunc, "--runc-root", containerd.RuncRoot];

    /// <summary>Starts containerd in the store's directory and imports the busybox image, saved by podman as an OCI archive.</summary>
    private static async Task<ContainerdDaemon> StartWithImageAsync(PodmanStore podman)
    {
        string archive = Path.Combine(podman.Dir, "busybox-oci.tar");
        (await podman.Podman("save", "--format", "oci-archive", "--output", archive, PodmanStore.Image)).AssertExit(0);
        var containerd = await ContainerdDaemon.StartAsync(podman.Dir);
        try
        {
            var imported = await containerd.Ctr("images", "import", "--base-name", "localhost/skiff-busybox", archive);
            Assert.True(imported.ExitCode == 0, $"{imported}\n--- containerd log\n{containerd.Log()}");
            return containerd;
        }
        catch
        {
            await containerd.DisposeAsync();
            throw;
        }
    }

    private Task<ProcessResult> RuncState(ContainerdDaemon containerd, string name) =>
        HostProcess.RunAsync([install.SkiffRunc, "--root", Path.Combine(containerd.RuncRoot, "default"), "state", name],
            timeout: ContainerdDaemon.Timeout);

    private static async Task WaitForTaskStatusAsync(ContainerdDaemon containerd, string name, string status)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var tasks = (await containerd.Ctr("tasks", "list")).AssertExit(0);
            if (System.Text.RegularExpressions.Regex.IsMatch(tasks.Stdout, $@"(?m)^{name}\s+\d+\s+{status}\s*$"))
            {
                return;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.Fail($"task {name} not {status} in 10 s: {tasks}");
            }

            await Task.Delay(100);
        }
    }
}
