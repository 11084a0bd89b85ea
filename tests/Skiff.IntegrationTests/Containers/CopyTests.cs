using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Containers;

/// <summary>skiff cp both ways against real containers, running and stopped, as root and rootless.</summary>
[Collection(SkiffCollection.Name)]
public sealed class CopyTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Files_go_in_and_out_of_a_running_and_then_a_stopped_container(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");

        (await c.Skiff(["cp", $"{c.Name}:/etc/passwd", c.Local("passwd")])).AssertExit(0);
        Assert.Equal(File.ReadAllText(Path.Combine(c.Box.Rootfs, "etc/passwd")), File.ReadAllText(c.Local("passwd")));

        c.WriteLocal("in.txt", "hello\n");
        var copied = (await c.Skiff(["cp", c.Local("in.txt"), $"{c.Name}:/tmp/"])).AssertExit(0);
        Assert.Equal("", copied.Stdout);
        Assert.Equal("hello\n", await c.Sh("cat /tmp/in.txt"));
        // Container root owns what cp puts in, whoever owned it outside.
        Assert.Equal("0 0\n", await c.Sh("stat -c '%u %g' /tmp/in.txt"));

        (await c.Skiff(["stop", "-t", "1", c.Name])).AssertExit(0);
        (await c.Skiff(["cp", $"{c.Name}:/tmp/in.txt", c.Local("back.txt")])).AssertExit(0);
        Assert.Equal("hello\n", File.ReadAllText(c.Local("back.txt")));
        (await c.Skiff(["cp", c.Local("in.txt"), $"{c.Name}:/tmp/while-stopped"])).AssertExit(0);

        (await c.Skiff(["start", c.Name])).AssertExit(0);
        Assert.Equal("hello\n", await c.Sh("cat /tmp/while-stopped"));
    }

    [Theory, BothModes]
    public async Task A_symlink_in_the_container_never_reaches_the_hosts_files(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");
        await c.Sh("ln -s /../../../../etc /escape && ln -s /etc/passwd /pw && ln -s ../../../../../etc/passwd /relative");
        string planted = "planted-" + c.Box.Marker;
        c.WriteLocal(planted, "inside\n");

        (await c.Skiff(["cp", c.Local(planted), $"{c.Name}:/escape/"])).AssertExit(0);
        Assert.False(File.Exists("/etc/" + planted), "cp followed the container's symlink out to the host's /etc");
        Assert.Equal("inside\n", await c.Sh($"cat /etc/{planted}"));

        string containerPasswd = File.ReadAllText(Path.Combine(c.Box.Rootfs, "etc/passwd"));
        Assert.NotEqual(File.ReadAllText("/etc/passwd"), containerPasswd);
        (await c.Skiff(["cp", "-L", $"{c.Name}:/pw", c.Local("pw")])).AssertExit(0);
        Assert.Equal(containerPasswd, File.ReadAllText(c.Local("pw")));
        (await c.Skiff(["cp", "-L", $"{c.Name}:/relative", c.Local("relative")])).AssertExit(0);
        Assert.Equal(containerPasswd, File.ReadAllText(c.Local("relative")));

        // Stopped, the container's overlay is read and written by skiff itself: same answer.
        (await c.Skiff(["stop", "-t", "1", c.Name])).AssertExit(0);
        c.WriteLocal("passwd-over", "overwritten\n");
        string hostPasswd = File.ReadAllText("/etc/passwd");
        (await c.Skiff(["cp", c.Local("passwd-over"), $"{c.Name}:/pw"])).AssertExit(0);
        (await c.Skiff(["cp", c.Local(planted), $"{c.Name}:/escape/again-{planted}"])).AssertExit(0);
        Assert.Equal(hostPasswd, File.ReadAllText("/etc/passwd"));
        Assert.False(File.Exists($"/etc/again-{planted}"));
        (await c.Skiff(["start", c.Name])).AssertExit(0);
        Assert.Equal("overwritten\n", await c.Sh("cat /etc/passwd"));
        Assert.Equal("inside\n", await c.Sh($"cat /etc/again-{planted}"));
    }

    [Theory, BothModes]
    public async Task Dockers_errors_and_exit_codes(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");

        var missing = (await c.Skiff(["cp", $"{c.Name}:/nope", c.Local("x")])).AssertExit(1);
        Assert.Equal($"Error response from daemon: Could not find the file /nope in container {c.Name}\n", missing.Stderr);
        var noContainer = (await c.Skiff(["cp", "nope:/etc/passwd", c.Local("x")])).AssertExit(1);
        Assert.Equal("Error response from daemon: No such container: nope\n", noContainer.Stderr);

        Directory.CreateDirectory(c.Local("dir"));
        c.GiveToUser(c.Local("dir"));
        Assert.Equal("cannot copy directory\n", (await c.Skiff(["cp", c.Local("dir"), $"{c.Name}:/etc/passwd"])).AssertExit(1).Stderr);
        Assert.Equal("must specify at least one container source\n", (await c.Skiff(["cp", c.Local("a"), c.Local("b")])).AssertExit(1).Stderr);
        Assert.Equal($"invalid output path: directory \"{c.Local("no")}\" does not exist\n",
            (await c.Skiff(["cp", $"{c.Name}:/etc/passwd", c.Local("no/such")])).AssertExit(1).Stderr);
    }

    [Theory, BothModes]
    public async Task A_tar_stream_on_stdout_and_stdin(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");
        string skiff = Shell.Join(c.Box.Argv(["cp", $"{c.Name}:/etc", "-"]));
        var listing = (await HostProcess.RunAsync(["/bin/sh", "-c", skiff + " | tar -tf -"], workingDirectory: c.LocalDir)).AssertExit(0);
        Assert.Contains("etc/passwd", listing.StdoutLines);
        Assert.Equal("etc/", listing.StdoutLines[0]);

        c.WriteLocal("from-tar", "via stdin\n");
        string into = Shell.Join(c.Box.Argv(["cp", "-", $"{c.Name}:/tmp"]));
        (await HostProcess.RunAsync(["/bin/sh", "-c", "tar -cf - from-tar | " + into], workingDirectory: c.LocalDir)).AssertExit(0);
        Assert.Equal("via stdin\n", await c.Sh("cat /tmp/from-tar"));
    }

    [Fact]
    public async Task Archive_mode_keeps_the_owner_of_the_source()
    {
        await using var c = await DetachedContainer.StartAsync(install, Mode.Root, "sleep", "600");
        string owned = c.WriteLocal("owned", "x");
        Libc.Chown(owned, 1234, 5678);
        (await c.Skiff(["cp", "-a", owned, $"{c.Name}:/tmp/"])).AssertExit(0);
        Assert.Equal("1234 5678\n", await c.Sh("stat -c '%u %g' /tmp/owned"));
        (await c.Skiff(["cp", owned, $"{c.Name}:/tmp/plain"])).AssertExit(0);
        Assert.Equal("0 0\n", await c.Sh("stat -c '%u %g' /tmp/plain"));
    }
}
