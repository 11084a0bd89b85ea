using Skiff.Images;

namespace Skiff.Tests.Images;

public sealed class LayerUnpackerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-unpack-").FullName;

    public void Dispose() => TreeRemover.Remove(_dir);

    private string Root => Path.Combine(_dir, "root");

    private UnpackResult Unpack(byte[] tar, UnpackOptions? options = null)
    {
        Directory.CreateDirectory(Root);
        return LayerUnpacker.Unpack(new MemoryStream(tar), Root, options ?? new UnpackOptions { IgnoreOwners = Environment.UserName != "root" });
    }

    [Theory]
    [InlineData("etc/passwd", "etc/passwd")]
    [InlineData("/etc/passwd", "etc/passwd")]
    [InlineData("./etc//passwd", "etc/passwd")]
    [InlineData("a/../b", "b")]
    [InlineData("./", "")]
    [InlineData("/", "")]
    public void Clean_reads_names_as_docker_does(string name, string expected) =>
        Assert.Equal(expected, LayerUnpacker.Clean(name));

    [Theory]
    [InlineData("../evil")]
    [InlineData("/../../evil")]
    [InlineData("a/../../evil")]
    [InlineData("./..")]
    public void Clean_refuses_names_that_escape(string name)
    {
        var e = Assert.Throws<SkiffException>(() => LayerUnpacker.Clean(name));
        Assert.Contains("escapes", e.Message);
    }

    [Fact]
    public void Unpacks_files_directories_links_modes_and_times()
    {
        var tar = new TarBuilder()
            .Dir("./")
            .Dir("bin/", 0b111_101_101)
            .File("bin/tool", "#!/bin/sh\n", 0b111_101_101)
            .File("etc/secret", "s", 0b110_000_000)
            .Symlink("bin/sh", "tool")
            .HardLink("bin/tool2", "bin/tool")
            .Fifo("run/fifo")
            .Dir("ro/", 0b101_101_101)
            .File("ro/file", "x")
            .Tar();

        var result = Unpack(tar);

        Assert.Equal("#!/bin/sh\n", File.ReadAllText(Path.Combine(Root, "bin/tool")));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(Root, "bin/tool")));
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(Root, "etc/secret")));
        Assert.Equal("tool", new FileInfo(Path.Combine(Root, "bin/sh")).LinkTarget);
        Assert.Equal("#!/bin/sh\n", File.ReadAllText(Path.Combine(Root, "bin/tool2")));
        Assert.Equal((UnixFileMode)0b101_101_101, File.GetUnixFileMode(Path.Combine(Root, "ro")));
        Assert.Equal(TarBuilder.Time, File.GetLastWriteTimeUtc(Path.Combine(Root, "bin/tool")));
        Assert.Equal(TarBuilder.Time, File.GetLastWriteTimeUtc(Path.Combine(Root, "ro")));
        Assert.True(File.Exists(Path.Combine(Root, "run/fifo")));
        Assert.Equal(9, result.Entries);
    }

    [Fact]
    public void Later_entries_replace_earlier_ones()
    {
        var tar = new TarBuilder().File("a", "old").File("a", "new").Dir("d/").File("d/x", "x").File("d", "now a file").Tar();

        Unpack(tar);

        Assert.Equal("new", File.ReadAllText(Path.Combine(Root, "a")));
        Assert.Equal("now a file", File.ReadAllText(Path.Combine(Root, "d")));
    }

    [Fact]
    public void Whiteouts_become_overlay_whiteouts()
    {
        var tar = new TarBuilder().Dir("etc/").File("etc/.wh.gone", "").File("opq/.wh..wh..opq", "").Tar();

        Unpack(tar, new UnpackOptions { Rootless = true, IgnoreOwners = true });

        string gone = Path.Combine(Root, "etc/gone");
        Assert.True(File.Exists(gone), "a whiteout is a char device where the file was");
        Assert.False(File.Exists(Path.Combine(Root, "etc/.wh.gone")));
        Assert.False(File.Exists(Path.Combine(Root, "opq/.wh..wh..opq")));
    }

    [Fact]
    public void Devices_are_skipped_rootless()
    {
        var tar = new TarBuilder().CharDevice("dev/null", 1, 3).File("ok", "ok").Tar();

        var result = Unpack(tar, new UnpackOptions { Rootless = true, IgnoreOwners = true });

        Assert.Equal(1, result.SkippedDevices);
        Assert.False(File.Exists(Path.Combine(Root, "dev/null")));
        Assert.True(File.Exists(Path.Combine(Root, "ok")));
    }

    [Fact]
    public void Refuses_tar_slip()
    {
        var tar = new TarBuilder().File("ok", "ok").File("../evil", "gotcha").Tar();

        var e = Assert.Throws<SkiffException>(() => Unpack(tar));

        Assert.Contains("escapes", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "evil")));
    }

    [Fact]
    public void Refuses_a_path_through_a_symlink()
    {
        string outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        var tar = new TarBuilder().Symlink("escape", outside).File("escape/evil", "gotcha").Tar();

        var e = Assert.Throws<SkiffException>(() => Unpack(tar));

        Assert.Contains("symlink", e.Message);
        Assert.False(File.Exists(Path.Combine(outside, "evil")));
    }

    [Fact]
    public void Refuses_a_relative_symlink_escape_too()
    {
        var tar = new TarBuilder().Dir("a/").Symlink("a/up", "../..").File("a/up/evil", "gotcha").Tar();

        Assert.Throws<SkiffException>(() => Unpack(tar));

        Assert.False(File.Exists(Path.Combine(_dir, "evil")));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("missing")]
    public void Refuses_hard_links_out_of_the_layer(string target)
    {
        var tar = new TarBuilder().File("ok", "ok").HardLink("stolen", target).Tar();

        Assert.Throws<SkiffException>(() => Unpack(tar));

        Assert.False(File.Exists(Path.Combine(Root, "stolen")));
    }

    [Fact]
    public void Refuses_a_hard_link_through_a_symlink()
    {
        var tar = new TarBuilder().Symlink("etc", "/etc").HardLink("stolen", "etc/passwd").Tar();

        Assert.Throws<SkiffException>(() => Unpack(tar));

        Assert.False(File.Exists(Path.Combine(Root, "stolen")));
    }

    [Fact]
    public void Refuses_a_truncated_stream()
    {
        byte[] tar = new TarBuilder().File("big", new string('x', 5000)).Tar();

        var e = Assert.Throws<SkiffException>(() => Unpack(tar[..2048]));

        Assert.Contains("corrupt or truncated", e.Message);
    }

    [Fact]
    public void Refuses_absurd_sizes()
    {
        byte[] tar = new TarBuilder().File("big", new string('x', 5000)).Tar();

        var e = Assert.Throws<SkiffException>(() => Unpack(tar, new UnpackOptions { IgnoreOwners = true, MaxEntrySize = 1000 }));

        Assert.Contains("absurd", e.Message);
    }
}
