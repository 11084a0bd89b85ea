using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>import, images, tag, inspect, rmi and run IMAGE, end to end with the real binary.</summary>
[Collection(SkiffCollection.Name)]
public sealed class ImportRunTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Imported_busybox_runs_with_the_image_defaults_and_the_flags_override_them(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string tar = await LayerTarballs.BusyboxAsync(box);

        var imported = (await box.Skiff(["import", "-c", "CMD [\"sh\", \"-c\", \"echo $GREETING from $(pwd) as $(id -u)\"]",
            "-c", "ENV GREETING=hello", "-c", "WORKDIR /tmp", "-c", "USER 1000", tar, "bb:1"])).AssertExit(0);
        Assert.Matches("^sha256:[0-9a-f]{64}\n$", imported.Stdout);

        var byDefault = (await box.Skiff(["run", "--rm", "bb:1"])).AssertExit(0);
        Assert.Equal("hello from /tmp as 1000\n", byDefault.Stdout);

        var overridden = (await box.Skiff(["run", "--rm", "-e", "GREETING=bye", "-w", "/etc", "-u", "0", "bb:1",
            "sh", "-c", "echo $GREETING from $(pwd) as $(id -u)"])).AssertExit(0);
        Assert.Equal("bye from /etc as 0\n", overridden.Stdout);

        var entry = (await box.Skiff(["run", "--rm", "--entrypoint", "/bin/echo", "bb:1", "via", "entrypoint"])).AssertExit(0);
        Assert.Equal("via entrypoint\n", entry.Stdout);
    }

    [Fact]
    public async Task Import_of_a_directory_as_root_keeps_owners_and_modes()
    {
        using var box = install.NewSandbox(Mode.Root);

        (await box.Skiff(["import", box.Rootfs, "bbdir"])).AssertExit(0);

        var result = (await box.Skiff(["run", "--rm", "bbdir", "sh", "-c", "stat -c '%U %a' /root /tmp /bin/busybox"])).AssertExit(0);
        Assert.Equal("root 700\nroot 1777\nroot 755\n", result.Stdout);
    }

    [Fact]
    public async Task Rootless_layers_keep_the_owners_the_image_gives_them()
    {
        using var box = install.NewSandbox(Mode.Rootless);
        byte[] busybox = System.IO.File.ReadAllBytes("/bin/busybox");
        string tar = LayerTarballs.Write(box, "owned.tar", t =>
        {
            LayerTarballs.Dir(t, "bin/");
            t.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "bin/busybox")
            {
                Mode = (UnixFileMode)0b111_101_101,
                DataStream = new MemoryStream(busybox),
            });
            LayerTarballs.Dir(t, "home/user/", uid: 1000, gid: 1000);
            LayerTarballs.File(t, "home/user/note", "mine", uid: 1000, gid: 1000, mode: 0b110_000_000);
            LayerTarballs.File(t, "srv/daemon", "d", uid: 1, gid: 2);
        }, gzip: true);
        (await box.Skiff(["import", tar, "owned"])).AssertExit(0);

        // On the host the files belong to the user's subordinate ids: container id N is host id start+N-1.
        var sub = HostUsers.SubordinateIds("/etc/subuid", HostUsers.WithSubIds)!;
        var subg = HostUsers.SubordinateIds("/etc/subgid", HostUsers.WithSubIds)!;
        string note = Directory.GetFiles(Path.Combine(box.StorageRoot, "layers"), "note", SearchOption.AllDirectories).Single();
        var stat = (await HostProcess.RunAsync(["stat", "-c", "%u %g %a", note])).AssertExit(0);
        Assert.Equal($"{sub.Start + 999} {subg.Start + 999} 600\n", stat.Stdout);

        // ...and in a container they are what the image says.
        var inContainer = (await box.Skiff(["run", "--rm", "owned", "/bin/busybox", "stat", "-c", "%u:%g %a",
            "/home/user/note", "/srv/daemon", "/bin/busybox"])).AssertExit(0);
        Assert.Equal("1000:1000 600\n1:2 644\n0:0 755\n", inContainer.Stdout);
    }

    [Theory, BothModes]
    public async Task Images_tag_inspect_and_rmi(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string tar = await LayerTarballs.BusyboxAsync(box);
        string id = (await box.Skiff(["import", "-c", "CMD [\"sh\"]", tar, "example/bb:1.0"])).AssertExit(0).Stdout.Trim();
        (await box.Skiff(["tag", "example/bb:1.0", "localhost:5000/bb:x"])).AssertExit(0);

        var table = (await box.Skiff(["images"])).AssertExit(0).StdoutLines;
        Assert.Matches(@"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", table[0]);
        Assert.Contains(table, l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"^example/bb\s+1\.0\s+{id[7..19]}\s+.+ago\s+\d"));
        Assert.Contains(table, l => l.StartsWith("localhost:5000/bb ", StringComparison.Ordinal));
        Assert.Equal([id[7..19]], (await box.Skiff(["images", "-q"])).AssertExit(0).StdoutLines);

        var inspect = (await box.Skiff(["image", "inspect", "example/bb:1.0"])).AssertExit(0).Stdout;
        using (var doc = System.Text.Json.JsonDocument.Parse(inspect))
        {
            var image = doc.RootElement[0];
            Assert.Equal(id, image.GetProperty("Id").GetString());
            Assert.Equal("sh", image.GetProperty("Config").GetProperty("Cmd")[0].GetString());
            Assert.Equal("layers", image.GetProperty("RootFS").GetProperty("Type").GetString());
            Assert.Single(image.GetProperty("RootFS").GetProperty("Layers").EnumerateArray());
            Assert.Equal(2, image.GetProperty("RepoTags").GetArrayLength());
        }

        Assert.Equal("Untagged: example/bb:1.0\n", (await box.Skiff(["rmi", "example/bb:1.0"])).AssertExit(0).Stdout);
        var removed = (await box.Skiff(["rmi", "localhost:5000/bb:x"])).AssertExit(0);
        Assert.Contains("Deleted: " + id, removed.Stdout);
        Assert.Equal([], LayerTarballs.StoreSnapshot(box).Where(p => p.Contains("/layers/") || p.Contains("/blobs/sha256/")).ToArray());
        Assert.Single((await box.Skiff(["images"])).AssertExit(0).StdoutLines);
    }

    [Theory, BothModes]
    public async Task Run_of_a_missing_image_tries_a_pull_as_docker_does_and_is_refused(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Skiff(["run", "--rm", "nothing:here", "true"]);

        result.AssertExit(125);
        Assert.Equal("Unable to find image 'nothing:here' locally", result.StderrLines[0]);
        Assert.StartsWith("skiff: ", result.StderrLines[^1]);
        var never = await box.Skiff(["run", "--rm", "--pull", "never", "nothing:here", "true"]);
        never.AssertExit(125);
        Assert.Equal(["skiff: No such image: nothing:here"], never.StderrLines);
    }
}
