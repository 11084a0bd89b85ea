using System.Text.Json;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Volumes;

/// <summary>skiff volume create|ls|inspect|rm|prune end to end, as root and rootless.</summary>
[Collection(SkiffCollection.Name)]
public sealed class VolumeCommandTests(SkiffInstall install)
{
    private static string VolumesDir(Sandbox box) => Path.Combine(box.StorageRoot, "volumes");

    [Theory, BothModes]
    public async Task Create_list_inspect_and_remove(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        Assert.Equal("data\n", (await box.Skiff(["volume", "create", "data"])).AssertExit(0).Stdout);
        Assert.Equal("data\n", (await box.Skiff(["volume", "create", "data"])).AssertExit(0).Stdout);
        Assert.Equal("lab\n", (await box.Skiff(["volume", "create", "--label", "team=web", "--label", "tier", "lab"])).AssertExit(0).Stdout);
        string generated = (await box.Skiff(["volume", "create"])).AssertExit(0).Stdout.Trim();
        Assert.Matches("^[0-9a-f]{64}$", generated);

        var table = (await box.Skiff(["volume", "ls"])).AssertExit(0);
        // By name, as Docker sorts them (ordinal: digits before letters).
        Assert.Equal(["DRIVER    VOLUME NAME", .. new[] { "data", generated, "lab" }.Order(StringComparer.Ordinal).Select(n => "local     " + n)], table.StdoutLines);
        Assert.Equal(["lab"], (await box.Skiff(["volume", "ls", "-q", "--filter", "label=team=web"])).AssertExit(0).StdoutLines);
        Assert.Equal(["data"], (await box.Skiff(["volume", "ls", "-q", "-f", "name=^da"])).AssertExit(0).StdoutLines);
        Assert.Equal(3, (await box.Skiff(["volume", "ls", "-q", "--filter", "dangling=true"])).AssertExit(0).StdoutLines.Count);
        Assert.Equal("data local\n", (await box.Skiff(["volume", "ls", "--filter", "name=data", "--format", "{{.Name}} {{.Driver}}"])).AssertExit(0).Stdout);
        using (var line = JsonDocument.Parse((await box.Skiff(["volume", "ls", "--filter", "name=lab", "--format", "json"])).AssertExit(0).Stdout))
        {
            Assert.Equal("team=web,tier=", line.RootElement.GetProperty("Labels").GetString());
        }

        var inspect = (await box.Skiff(["volume", "inspect", "data", "lab"])).AssertExit(0);
        Assert.StartsWith("[\n    {\n        \"CreatedAt\": ", inspect.Stdout);
        using (var doc = JsonDocument.Parse(inspect.Stdout))
        {
            var data = doc.RootElement[0];
            Assert.Equal("data", data.GetProperty("Name").GetString());
            Assert.Equal("local", data.GetProperty("Driver").GetString());
            Assert.Equal("local", data.GetProperty("Scope").GetString());
            Assert.Equal(Path.Combine(VolumesDir(box), "data", "_data"), data.GetProperty("Mountpoint").GetString());
            Assert.Equal("web", doc.RootElement[1].GetProperty("Labels").GetProperty("team").GetString());
        }
        Assert.True(Directory.Exists(Path.Combine(VolumesDir(box), "data", "_data")));
        Assert.Equal(Path.Combine(VolumesDir(box), "lab", "_data") + " web\n",
            (await box.Skiff(["volume", "inspect", "-f", "{{.Mountpoint}} {{index .Labels \"team\"}}", "lab"])).AssertExit(0).Stdout);

        var missing = (await box.Skiff(["volume", "inspect", "nope"])).AssertExit(1);
        Assert.Equal("[]\n", missing.Stdout);
        Assert.Contains("No such volume: nope", missing.Stderr);

        Assert.Equal("data\n", (await box.Skiff(["volume", "rm", "data"])).AssertExit(0).Stdout);
        var again = (await box.Skiff(["volume", "rm", "data"])).AssertExit(1);
        Assert.Contains("get data: no such volume", again.Stderr);
        (await box.Skiff(["volume", "rm", "-f", "data"])).AssertExit(0);
        Assert.False(Directory.Exists(Path.Combine(VolumesDir(box), "data")));
        Assert.Equal(new[] { "lab", generated }.Order(StringComparer.Ordinal), (await box.Skiff(["volume", "ls", "-q"])).AssertExit(0).StdoutLines);
    }

    [Theory, BothModes]
    public async Task Prune_takes_anonymous_volumes_and_with_all_every_unused_one(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        (await box.Skiff(["volume", "create", "named"])).AssertExit(0);
        File.WriteAllBytes(Path.Combine(VolumesDir(box), "named", "_data", "blob"), new byte[2500]);
        string anonymous = MakeAnonymousVolume(box);

        var declined = (await box.Skiff(["volume", "prune"], stdin: "n\n")).AssertExit(0);
        Assert.Equal("WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ", declined.Stdout);
        Assert.True(Directory.Exists(Path.Combine(VolumesDir(box), anonymous)));

        var pruned = (await box.Skiff(["volume", "prune"], stdin: "y\n")).AssertExit(0);
        Assert.EndsWith($"Deleted Volumes:\n{anonymous}\n\nTotal reclaimed space: 0B\n", pruned.Stdout);
        Assert.Equal(["named"], (await box.Skiff(["volume", "ls", "-q"])).AssertExit(0).StdoutLines);

        Assert.Equal("Total reclaimed space: 0B\n", (await box.Skiff(["volume", "prune", "-f"])).AssertExit(0).Stdout);
        Assert.Equal("Deleted Volumes:\nnamed\n\nTotal reclaimed space: 2.5kB\n", (await box.Skiff(["volume", "prune", "-a", "-f"])).AssertExit(0).Stdout);
        Assert.Empty((await box.Skiff(["volume", "ls", "-q"])).AssertExit(0).StdoutLines);
        Assert.Equal([".lock"], Directory.GetFileSystemEntries(VolumesDir(box)).Select(Path.GetFileName));
    }

    /// <summary>
    /// A container's files in a rootless volume belong to subordinate ids the user cannot
    /// touch: rm goes through the user namespace keeper. (As root the same tree is plain.)
    /// </summary>
    [Theory, BothModes]
    public async Task Remove_deletes_files_a_container_user_owns(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        (await box.Skiff(["volume", "create", "owned"])).AssertExit(0);
        string sub = Path.Combine(VolumesDir(box), "owned", "_data", "home");
        Directory.CreateDirectory(sub);
        File.WriteAllText(Path.Combine(sub, "file"), "x");
        // Container uid 1000: the subordinate id the user's namespace maps it to, or 1000 as root.
        int uid = mode == Mode.Root ? 1000 : (int)HostUsers.SubordinateIds("/etc/subuid", HostUsers.WithSubIds)!.Start + 999;
        Libc.Chown(Path.Combine(sub, "file"), uid, uid);
        Libc.Chown(sub, uid, uid);

        (await box.Skiff(["volume", "rm", "owned"])).AssertExit(0);

        Assert.False(Directory.Exists(Path.Combine(VolumesDir(box), "owned")));
        Assert.Equal([".lock"], Directory.GetFileSystemEntries(VolumesDir(box)).Select(Path.GetFileName));
    }

    [Theory, BothModes]
    public async Task Parallel_creates_and_removes_leave_a_consistent_store(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var same = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => box.Skiff(["volume", "create", "shared"])));
        Assert.All(same, r => Assert.Equal("shared\n", r.AssertExit(0).Stdout));
        var created = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => box.Skiff(["volume", "create", $"v{i}"])));
        Assert.All(created, r => r.AssertExit(0));
        var removed = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => box.Skiff(["volume", "rm", $"v{i}"])));
        Assert.All(removed, r => r.AssertExit(0));

        Assert.Equal(["shared"], (await box.Skiff(["volume", "ls", "-q"])).AssertExit(0).StdoutLines);
        Assert.Equal([".lock", "shared"], Directory.GetFileSystemEntries(VolumesDir(box)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory, BothModes]
    public async Task Bad_input_gets_dockers_messages_and_exit_codes(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var badName = (await box.Skiff(["volume", "create", "a/b"])).AssertExit(1);
        Assert.Contains("create a/b: \"a/b\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed", badName.Stderr);
        Assert.Contains("plugin \"nfs\" not found", (await box.Skiff(["volume", "create", "--driver", "nfs", "x1"])).AssertExit(1).Stderr);
        Assert.Contains("\"skiff volume rm\" requires at least 1 argument", (await box.Skiff(["volume", "rm"])).AssertExit(1).Stderr);
        Assert.Contains("unknown flag: --bogus", (await box.Skiff(["volume", "ls", "--bogus"])).AssertExit(125).Stderr);
        Assert.Contains("invalid filter 'color'", (await box.Skiff(["volume", "ls", "--filter", "color=red"])).AssertExit(1).Stderr);
        Assert.Contains("unknown command \"frob\"", (await box.Skiff(["volume", "frob"])).AssertExit(125).Stderr);
        Assert.Empty((await box.Skiff(["volume", "ls", "-q"])).AssertExit(0).StdoutLines);
    }

    /// <summary>
    /// An anonymous volume as container create leaves one (that path is not wired to a verb
    /// here): the store's layout with Docker's anonymous label, owned by the sandbox's user.
    /// </summary>
    private static string MakeAnonymousVolume(Sandbox box)
    {
        string name = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        string dir = Path.Combine(VolumesDir(box), name);
        Directory.CreateDirectory(Path.Combine(dir, "_data"));
        File.WriteAllText(Path.Combine(dir, "volume.json"),
            $"{{\"CreatedAt\":\"2024-01-01T00:00:00Z\",\"Driver\":\"local\",\"Labels\":{{\"com.docker.volume.anonymous\":\"\"}},\"Mountpoint\":\"\",\"Name\":\"{name}\",\"Options\":null,\"Scope\":\"local\"}}");
        if (HostUsers.NameOf(box.Mode) is { } user)
        {
            var u = HostUsers.Get(user);
            foreach (var p in new[] { dir, Path.Combine(dir, "_data"), Path.Combine(dir, "volume.json") })
            {
                Libc.Chown(p, u.Uid, u.Gid);
            }
        }
        return name;
    }
}
