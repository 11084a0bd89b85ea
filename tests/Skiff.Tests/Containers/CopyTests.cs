using System.Formats.Tar;
using System.Runtime.InteropServices;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers;

/// <summary>
/// docker cp against hand-made containers: stopped ones through the real overlay (mounted
/// by the holder child in its own mount namespace), running ones through /proc/PID/root of
/// a chrooted process. Root only (overlay and chroot), as the unit tests run here.
/// </summary>
public sealed partial class CopyTests : IDisposable
{
    private readonly List<IDisposable> _cleanup = [];
    private readonly string _local = Directory.CreateTempSubdirectory("skiff-cp-local-").FullName;

    public void Dispose()
    {
        foreach (var c in _cleanup)
        {
            c.Dispose();
        }
        Directory.Delete(_local, recursive: true);
    }

    private static readonly Action<string> Image = layer =>
    {
        Write(layer, "etc/shadow", "container shadow\n");
        Write(layer, "etc/hostname", "ctr\n");
        Write(layer, "data/a.txt", "A");
        Write(layer, "data/sub/b.txt", "BB");
        File.CreateSymbolicLink(Path.Combine(layer, "data/link"), "a.txt");
        File.CreateSymbolicLink(Path.Combine(layer, "escape"), "/../../../../etc");
        File.CreateSymbolicLink(Path.Combine(layer, "shadowlink"), "/etc/shadow");
        File.CreateSymbolicLink(Path.Combine(layer, "dotdot"), "../../../../../../../etc/shadow");
        Write(layer, "gone.txt", "whited out");
        Write(layer, "opaque/lower.txt", "lower");
    };

    private TestContainer Container(string name = "c1", Action<ContainerDefinition>? configure = null)
    {
        var c = TestContainer.Create(name, Image, configure);
        _cleanup.Add(c);
        return c;
    }

    private static void Write(string root, string relative, string text)
    {
        string path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private string Local(string relative) => Path.Combine(_local, relative);

    private CopyOutcome From(TestContainer c, string src, string dst, bool followLink = false, Stream? stdout = null) =>
        ContainerCopy.FromContainer(c.Store, c.Name, src, dst, stdout ?? Stream.Null, followLink, copyUidGid: false, TestContainer.Holder);

    private CopyOutcome To(TestContainer c, string src, string dst, bool copyUidGid = false, Stream? stdin = null) =>
        ContainerCopy.ToContainer(c.Store, src, c.Name, dst, stdin ?? Stream.Null, followLink: false, copyUidGid, TestContainer.Holder);

    [Fact]
    public void A_file_of_a_stopped_container_is_copied_out_with_its_content()
    {
        var c = Container();
        var outcome = From(c, "/etc/hostname", Local("h"));
        Assert.Equal("ctr\n", File.ReadAllText(Local("h")));
        Assert.Equal(4, outcome.ContentSize);
        Assert.True(outcome.Transferred > 4, "the tar stream is what went through");
    }

    [Fact]
    public void A_directory_lands_as_docker_puts_it_new_name_existing_directory_or_its_contents_with_slash_dot()
    {
        var c = Container();
        From(c, "/data", Local("new"));
        Assert.Equal("A", File.ReadAllText(Local("new/a.txt")));
        Assert.Equal("BB", File.ReadAllText(Local("new/sub/b.txt")));
        Assert.Equal("a.txt", new FileInfo(Local("new/link")).LinkTarget);

        Directory.CreateDirectory(Local("existing"));
        From(c, "/data", Local("existing"));
        Assert.Equal("A", File.ReadAllText(Local("existing/data/a.txt")));

        Directory.CreateDirectory(Local("contents"));
        From(c, "/data/.", Local("contents"));
        Assert.Equal("A", File.ReadAllText(Local("contents/a.txt")));
        Assert.False(Directory.Exists(Local("contents/data")));
    }

    [Fact]
    public void A_symlink_is_copied_as_a_symlink_and_followed_with_L()
    {
        var c = Container();
        From(c, "/data/link", Local("l"));
        Assert.Equal("a.txt", new FileInfo(Local("l")).LinkTarget);
        From(c, "/data/link", Local("f"), followLink: true);
        Assert.Null(new FileInfo(Local("f")).LinkTarget);
        Assert.Equal("A", File.ReadAllText(Local("f")));
    }

    [Fact]
    public void Symlinks_that_point_out_of_the_container_resolve_inside_it_when_reading()
    {
        var c = Container();
        string hostShadow = File.ReadAllText("/etc/shadow");
        From(c, "/escape/shadow", Local("via-dir-link"));
        Assert.Equal("container shadow\n", File.ReadAllText(Local("via-dir-link")));
        From(c, "/shadowlink", Local("via-absolute"), followLink: true);
        Assert.Equal("container shadow\n", File.ReadAllText(Local("via-absolute")));
        From(c, "/dotdot", Local("via-dotdot"), followLink: true);
        Assert.Equal("container shadow\n", File.ReadAllText(Local("via-dotdot")));
        Assert.NotEqual(hostShadow, File.ReadAllText(Local("via-absolute")));

        var stat = ContainerCopy.Stat(c.Store, c.Name, "/escape", TestContainer.Holder);
        Assert.True(stat.IsSymlink);
        Assert.Equal("/etc", stat.LinkTarget);
        Assert.Equal("/etc/shadow", ContainerCopy.Stat(c.Store, c.Name, "/dotdot", TestContainer.Holder).LinkTarget);
    }

    [Fact]
    public void Symlinks_that_point_out_of_the_container_resolve_inside_it_when_writing()
    {
        var c = Container();
        byte[] hostShadow = File.ReadAllBytes("/etc/shadow");
        string marker = "skiff-cp-escape-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(Local(marker), "planted");
        To(c, Local(marker), "/escape/");
        Assert.False(File.Exists("/etc/" + marker), "cp wrote to the host's /etc through the container's symlink");
        Assert.Equal("planted", File.ReadAllText(Path.Combine(c.Dir.Upper, "etc", marker)));

        File.WriteAllText(Local("shadow"), "overwritten\n");
        To(c, Local("shadow"), "/shadowlink");
        To(c, Local("shadow"), "/dotdot");
        Assert.Equal(hostShadow, File.ReadAllBytes("/etc/shadow"));
        Assert.Equal("overwritten\n", File.ReadAllText(Path.Combine(c.Dir.Upper, "etc", "shadow")));
    }

    [Fact]
    public void A_missing_path_is_dockers_could_not_find_the_file()
    {
        var c = Container();
        var e = Assert.Throws<SkiffException>(() => From(c, "/nope", Local("x")));
        Assert.Equal(ErrorCategory.NotFound, e.Category);
        Assert.Equal("Could not find the file /nope in container c1", e.Message);

        File.WriteAllText(Local("f"), "x");
        var into = Assert.Throws<SkiffException>(() => To(c, Local("f"), "/nope/dir/f"));
        Assert.Equal("Could not find the file /nope/dir in container c1", into.Message);
    }

    [Fact]
    public void What_the_upper_layer_whites_out_is_not_there_and_an_opaque_directory_hides_the_lower_one()
    {
        var c = Container();
        Directory.CreateDirectory(c.Dir.Upper);
        TestContainer.Sh($"mknod '{c.Dir.Upper}/gone.txt' c 0 0");
        Directory.CreateDirectory(Path.Combine(c.Dir.Upper, "opaque"));
        File.WriteAllText(Path.Combine(c.Dir.Upper, "opaque", "upper.txt"), "upper");
        Assert.Equal(0, SetXattr(Path.Combine(c.Dir.Upper, "opaque"), "trusted.overlay.opaque", "y"u8.ToArray()));

        Assert.Equal(ErrorCategory.NotFound, Assert.Throws<SkiffException>(() => From(c, "/gone.txt", Local("g"))).Category);
        From(c, "/opaque", Local("o"));
        Assert.True(File.Exists(Local("o/upper.txt")));
        Assert.False(File.Exists(Local("o/lower.txt")));
    }

    [Fact]
    public void Files_copied_in_belong_to_container_root_and_keep_their_owners_with_archive_mode()
    {
        var c = Container();
        Directory.CreateDirectory(Local("tree/deeper"));
        File.WriteAllText(Local("tree/deeper/f"), "f");
        TestContainer.Sh($"chown -R 1234:5678 '{Local("tree")}' && chmod 4750 '{Local("tree/deeper/f")}'");

        To(c, Local("tree"), "/as-root");
        var rooted = Stat(Path.Combine(c.Dir.Upper, "as-root/deeper/f"));
        Assert.Equal((0u, 0u), (rooted.Uid, rooted.Gid));

        To(c, Local("tree"), "/archived", copyUidGid: true);
        var kept = Stat(Path.Combine(c.Dir.Upper, "archived/deeper/f"));
        Assert.Equal((1234u, 5678u), (kept.Uid, kept.Gid));
        Assert.Equal(0x9E8u /* 04750 */, kept.Mode & 0xFFF);
    }

    [Fact]
    public void A_new_file_lands_in_the_upper_layer_and_its_missing_parent_is_refused()
    {
        var c = Container();
        File.WriteAllText(Local("f"), "hello");
        To(c, Local("f"), "/data/renamed");
        Assert.Equal("hello", File.ReadAllText(Path.Combine(c.Dir.Upper, "data/renamed")));
        To(c, Local("f"), "/data/");
        Assert.Equal("hello", File.ReadAllText(Path.Combine(c.Dir.Upper, "data/f")));
        // The image's layer is never written.
        Assert.False(File.Exists(Path.Combine(c.Layer, "data/f")));
    }

    [Fact]
    public void Dockers_client_side_errors_directory_onto_file_missing_directory_and_bad_output_path()
    {
        var c = Container();
        File.WriteAllText(Local("file"), "x");
        Assert.Equal("cannot copy directory", Assert.Throws<CopyClientException>(() => From(c, "/data", Local("file"))).Message);

        Directory.CreateDirectory(Local("dir"));
        Assert.Equal("cannot copy directory", Assert.Throws<CopyClientException>(() => To(c, Local("dir"), "/etc/hostname")).Message);
        Assert.Equal("no such directory", Assert.Throws<CopyClientException>(() => From(c, "/etc/hostname", Local("missing/"))).Message);
        Assert.Equal($"invalid output path: directory \"{Local("no/such")}\" does not exist",
            Assert.Throws<CopyClientException>(() => From(c, "/etc/hostname", Local("no/such/x"))).Message);
        Assert.Equal("destination \"c1:/etc/hostname\" must be a directory",
            Assert.Throws<CopyClientException>(() => To(c, "-", "/etc/hostname", stdin: new MemoryStream())).Message);
    }

    [Fact]
    public void A_tar_stream_goes_out_to_stdout_and_comes_in_from_stdin()
    {
        var c = Container();
        var tar = new MemoryStream();
        From(c, "/data", "-", stdout: tar);
        tar.Position = 0;
        var names = new List<string>();
        var reader = new TarReader(tar);
        while (reader.GetNextEntry() is { } e)
        {
            names.Add(e.Name);
        }
        Assert.Equal(["data/", "data/a.txt", "data/link", "data/sub/", "data/sub/b.txt"], names);

        tar.Position = 0;
        To(c, "-", "/etc/", stdin: tar);
        Assert.Equal("BB", File.ReadAllText(Path.Combine(c.Dir.Upper, "etc/data/sub/b.txt")));
    }

    [Fact]
    public void An_archive_cannot_climb_out_of_the_destination()
    {
        var c = Container();
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Gnu, leaveOpen: true))
        {
            w.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, "../outside") { DataStream = new MemoryStream("x"u8.ToArray()) });
        }
        tar.Position = 0;
        var e = Assert.Throws<SkiffException>(() => ContainerCopy.Extract(c.Store, c.Name, "/data", tar, false, true, TestContainer.Holder));
        Assert.Contains("is outside of", e.Message);

        // A symlink the archive makes, then a file through it: it stays in the destination.
        tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Gnu, leaveOpen: true))
        {
            w.WriteEntry(new GnuTarEntry(TarEntryType.SymbolicLink, "hop") { LinkName = "/" });
            w.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, "hop/etc/planted") { DataStream = new MemoryStream("x"u8.ToArray()) });
        }
        tar.Position = 0;
        ContainerCopy.Extract(c.Store, c.Name, "/data", tar, false, true, TestContainer.Holder);
        Assert.False(File.Exists("/etc/planted"));
        Assert.True(File.Exists(Path.Combine(c.Dir.Upper, "data/etc/planted")));
    }

    [Fact]
    public void A_read_only_root_filesystem_refuses_a_copy_in()
    {
        var c = Container(configure: d => d.HostConfig.ReadonlyRootfs = true);
        File.WriteAllText(Local("f"), "x");
        Assert.Equal("container rootfs is marked read-only", Assert.Throws<SkiffException>(() => To(c, Local("f"), "/data/")).Message);
    }

    [Fact]
    public void A_running_container_is_reached_through_its_own_root()
    {
        var c = Container("running");
        string root = Path.Combine(c.Root, "live-root");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.Copy("/bin/busybox", Path.Combine(root, "bin/busybox"));
        File.CreateSymbolicLink(Path.Combine(root, "bin/sleep"), "busybox");
        File.WriteAllText(Path.Combine(root, "etc/shadow"), "live shadow\n");
        File.CreateSymbolicLink(Path.Combine(root, "up"), "../../../../..");
        int pid = c.Run("chroot", root, "/bin/sleep", "600");
        WaitForExec(pid, "sleep");
        c.MarkRunning(pid);

        From(c, "/up/etc/shadow", Local("live"));
        Assert.Equal("live shadow\n", File.ReadAllText(Local("live")));

        File.WriteAllText(Local("in"), "copied in");
        To(c, Local("in"), "/up/etc/");
        Assert.Equal("copied in", File.ReadAllText(Path.Combine(root, "etc/in")));
        Assert.False(File.Exists("/etc/in"));
        // Nothing of the stopped path: no overlay was made for a running container.
        Assert.False(Directory.Exists(c.Dir.Upper));
    }

    private static void WaitForExec(int pid, string comm)
    {
        for (int i = 0; i < 500 && File.ReadAllText($"/proc/{pid}/comm").Trim() != comm; i++)
        {
            Thread.Sleep(10);
        }
    }

    private static (uint Uid, uint Gid, uint Mode) Stat(string path)
    {
        string text = TestContainer.Sh($"stat -c '%u %g %f' '{path}'").Trim();
        var f = text.Split(' ');
        return (uint.Parse(f[0]), uint.Parse(f[1]), Convert.ToUInt32(f[2], 16));
    }

    [LibraryImport("libc", EntryPoint = "setxattr", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetXattr(string path, string name, byte[] value, nuint size, int flags);

    private static int SetXattr(string path, string name, byte[] value) => SetXattr(path, name, value, (nuint)value.Length, 0);
}
