using System.Text.Json;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Lifecycle;

/// <summary>
/// A sandbox with a busybox image imported by its user, for tests of containers that
/// outlive one command (run -d, stop, rm, restart). Its commands skip the sandbox's
/// no-container-left check; disposal removes every container and checks nothing is left.
/// </summary>
internal sealed class ImageBox : IAsyncDisposable
{
    private ImageBox(Sandbox box) => Box = box;

    public Sandbox Box { get; }
    public Mode Mode => Box.Mode;

    public static async Task<ImageBox> CreateAsync(SkiffInstall install, Mode mode)
    {
        var box = install.NewSandbox(mode);
        var b = new ImageBox(box);
        string tarball = Path.Combine(box.Dir, "busybox.tar");
        (await HostProcess.RunAsync(["tar", "-C", box.Rootfs, "-cf", tarball, "."])).AssertExit(0);
        (await b.Skiff(["import", tarball, "busybox"])).AssertExit(0);
        return b;
    }

    public Task<ProcessResult> Skiff(IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null) =>
        HostProcess.RunAsync(Box.Argv(args), stdin, workingDirectory: Box.Dir, timeout: timeout);

    /// <summary>run -d --name NAME busybox COMMAND; the id.</summary>
    public async Task<string> StartAsync(string name, string[] options, params string[] command)
    {
        var run = await Skiff(["run", "-d", "--name", name, .. options, "busybox", .. command]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches("^[0-9a-f]{64}\n$", run.Stdout);
        return run.Stdout.Trim();
    }

    public async Task<JsonElement> InspectAsync(string name)
    {
        var r = (await Skiff(["inspect", name])).AssertExit(0);
        using var doc = JsonDocument.Parse(r.Stdout);
        return doc.RootElement[0].Clone();
    }

    /// <summary>Polls until the condition holds (or fails the test after the timeout).</summary>
    public static async Task EventuallyAsync(string what, Func<Task<bool>> condition, int timeoutMs = 15000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    public string StateFile(string id) => Path.Combine(Box.ContainersDir, id, "state.json");

    public async ValueTask DisposeAsync()
    {
        var ps = await Skiff(["ps", "-aq", "--no-trunc"]);
        foreach (var id in ps.StdoutLines.Where(l => l.Length > 0))
        {
            await Skiff(["rm", "-f", id]);
        }
        try
        {
            var left = Directory.Exists(Box.ContainersDir)
                ? Directory.GetFileSystemEntries(Box.ContainersDir).Where(e => !Path.GetFileName(e).StartsWith('.')).ToList()
                : [];
            Assert.True(left.Count == 0, $"containers left: {string.Join(", ", left)}");
            var processes = ProcTable.Snapshot().Where(p => p.Argv.Any(a => a.Contains(Box.Marker, StringComparison.Ordinal))).ToList();
            Assert.True(processes.Count == 0, $"processes left: {string.Join(", ", processes.Select(p => $"{p.Pid} {Shell.Join(p.Argv)}"))}");
        }
        finally
        {
            Box.Dispose();
        }
    }
}
