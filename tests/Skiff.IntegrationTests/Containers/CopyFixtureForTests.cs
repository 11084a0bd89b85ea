using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Containers;

/// <summary>
/// A detached container (skiff run -d) of a busybox image imported by the sandbox's user,
/// in its own sandbox, for the top, cp, pause and stats tests; removed with rm -f at the
/// end. An image rather than --rootfs: its layer is unpacked with owners the user's
/// namespace maps (a root-owned --rootfs is read-only to a rootless container). Its
/// commands bypass the sandbox's no-container-left check, which holds for foreground runs only.
/// </summary>
internal sealed class DetachedContainer : IAsyncDisposable
{
    private DetachedContainer(Sandbox box, string name)
    {
        Box = box;
        Name = name;
    }

    public Sandbox Box { get; }
    public string Name { get; }
    public Mode Mode => Box.Mode;

    public static async Task<DetachedContainer> StartAsync(SkiffInstall install, Mode mode, params string[] command)
    {
        var box = install.NewSandbox(mode);
        var c = new DetachedContainer(box, "c-" + box.Marker[^8..]);
        Directory.CreateDirectory(c.LocalDir);
        c.GiveToUser(c.LocalDir);
        string tarball = Path.Combine(box.Dir, "busybox.tar");
        (await HostProcess.RunAsync(["tar", "-C", box.Rootfs, "-cf", tarball, "."])).AssertExit(0);
        (await c.Skiff(["import", tarball, "busybox"])).AssertExit(0);
        var run = await c.Skiff(["run", "-d", "--name", c.Name, "busybox", .. command]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches("^[0-9a-f]{64}\n$", run.Stdout);
        return c;
    }

    /// <summary>The full id, from the store's directory.</summary>
    public string Id => Path.GetFileName(Directory.GetDirectories(Box.ContainersDir).Single(d => !Path.GetFileName(d).StartsWith('.')));

    /// <summary>skiff --root STORAGE ARGS as the sandbox's user.</summary>
    public Task<ProcessResult> Skiff(IEnumerable<string> args, string? stdin = null) =>
        HostProcess.RunAsync(Box.Argv(args), stdin, workingDirectory: Box.Dir);

    /// <summary>skiff exec NAME sh -c SCRIPT, expected to succeed; its stdout.</summary>
    public async Task<string> Sh(string script)
    {
        var r = await Skiff(["exec", Name, "sh", "-c", script]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    /// <summary>A directory the sandbox's user owns: skiff cp reads and writes there as that user.</summary>
    public string LocalDir => Path.Combine(Box.Dir, "local");

    public string Local(string name) => Path.Combine(LocalDir, name);

    /// <summary>A local file with this text, owned by the sandbox's user.</summary>
    public string WriteLocal(string name, string text)
    {
        string path = Local(name);
        File.WriteAllText(path, text);
        GiveToUser(path);
        return path;
    }

    public void GiveToUser(string path)
    {
        if (HostUsers.NameOf(Mode) is { } name)
        {
            var user = HostUsers.Get(name);
            Libc.Chown(path, user.Uid, user.Gid);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Skiff(["rm", "-f", Name]);
        Box.Dispose();
    }
}
