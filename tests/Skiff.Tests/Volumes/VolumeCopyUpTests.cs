using Skiff.Engine.Containers;
using Skiff.Engine.Volumes;
using Skiff.Images;

namespace Skiff.Tests.Volumes;

/// <summary>Copy-up from layer directories read as overlayfs merges them (the tests run as root: whiteouts and owners need it).</summary>
public sealed class VolumeCopyUpTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-copyup-").FullName;

    public void Dispose() => TreeRemover.Remove(_dir);

    private string Dir(params string[] parts)
    {
        string p = Path.Combine([_dir, .. parts]);
        Directory.CreateDirectory(p);
        return p;
    }

    private string Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>
    /// lower: /data (7:7)/{a (0640, 1000:1000), sub/b, gone, link→a, hard1=hard2, opq/old, hidden/x}, /file
    /// upper: /data (0750, 33:33)/{gone (whiteout), new, opq/ (opaque) with opq/fresh, hidden (whiteout)}, /vol → data
    /// </summary>
    private (string Upper, string Lower) Layers(string opaqueXattr = "trusted.overlay.opaque")
    {
        string lower = Dir("lower"), upper = Dir("upper");
        string a = Write(Path.Combine(lower, "data", "a"), "alpha");
        File.SetUnixFileMode(a, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Native.Chown(a, 1000, 1000);
        Write(Path.Combine(lower, "data", "sub", "b"), "beta");
        Write(Path.Combine(lower, "data", "gone"), "should not appear");
        File.CreateSymbolicLink(Path.Combine(lower, "data", "link"), "a");
        Write(Path.Combine(lower, "data", "hard1"), "linked");
        Native.Link(Path.Combine(lower, "data", "hard1"), Path.Combine(lower, "data", "hard2"));
        Write(Path.Combine(lower, "data", "opq", "old"), "hidden by opaque");
        Write(Path.Combine(lower, "data", "hidden", "x"), "hidden by whiteout");
        Write(Path.Combine(lower, "file"), "a file");
        Native.Chown(Path.Combine(lower, "data"), 7, 7);

        // The merged directory shows the topmost layer's owner and mode.
        var dataDir = Path.Combine(upper, "data");
        Directory.CreateDirectory(dataDir);
        Native.Chown(dataDir, 33, 33);
        File.SetUnixFileMode(dataDir, (UnixFileMode)0x1E8 /* 0750 */);
        Native.Whiteout(Path.Combine(upper, "data", "gone"));
        Native.Whiteout(Path.Combine(upper, "data", "hidden"));
        Write(Path.Combine(upper, "data", "new"), "from upper");
        Write(Path.Combine(upper, "data", "opq", "fresh"), "kept");
        Native.SetXattr(Path.Combine(upper, "data", "opq"), opaqueXattr, "y");
        File.CreateSymbolicLink(Path.Combine(upper, "vol"), "data");
        return (upper, lower);
    }

    private static string[] Tree(string dir) =>
        Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(dir, p)).Order(StringComparer.Ordinal).ToArray();

    [Theory]
    [InlineData("trusted.overlay.opaque")]
    [InlineData("user.overlay.opaque")]
    public void The_merged_view_is_copied_with_whiteouts_and_opaque_directories_honoured(string opaque)
    {
        var (upper, lower) = Layers(opaque);
        string volume = Dir("volume");

        Assert.True(VolumeCopyUp.FromLayers([upper, lower], "/data", volume));

        Assert.Equal(["a", "hard1", "hard2", "link", "new", "opq", "opq/fresh", "sub", "sub/b"], Tree(volume));
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(volume, "a")));
        Assert.Equal("from upper", File.ReadAllText(Path.Combine(volume, "new")));
        Assert.Equal("a", new FileInfo(Path.Combine(volume, "link")).LinkTarget);
        var owner = Native.Owner(Path.Combine(volume, "a"));
        Assert.Equal((1000u, 1000u), (owner.Uid, owner.Gid));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(volume, "a")));
        Assert.Equal(Native.Owner(Path.Combine(volume, "hard1")).Inode, Native.Owner(Path.Combine(volume, "hard2")).Inode);
        // The volume's root takes the image directory's owner and mode (Docker's copyOwnership).
        var root = Native.Owner(volume);
        Assert.Equal((33u, 33u), (root.Uid, root.Gid));
        Assert.Equal((UnixFileMode)0x1E8, File.GetUnixFileMode(volume));
        // Nothing of the overlay's own bookkeeping leaks into the volume.
        Assert.Null(Skiff.Engine.Volumes.VolumeCopyUp.Resolve([volume], "/opq/old"));
    }

    [Fact]
    public void A_symlink_on_the_way_is_followed_inside_the_image()
    {
        var (upper, lower) = Layers();
        string volume = Dir("volume");

        Assert.True(VolumeCopyUp.FromLayers([upper, lower], "/vol", volume));

        Assert.Contains("new", Tree(volume));
        Assert.DoesNotContain("gone", Tree(volume));
    }

    [Fact]
    public void A_symlink_cannot_lead_out_of_the_image()
    {
        string outside = Dir("outside");
        Write(Path.Combine(outside, "secret"), "host file");
        string layer = Dir("layer");
        File.CreateSymbolicLink(Path.Combine(layer, "escape"), "../../../../../../.." + outside);
        File.CreateSymbolicLink(Path.Combine(layer, "abs"), outside);
        string volume = Dir("volume");

        Assert.False(VolumeCopyUp.FromLayers([layer], "/escape", volume));
        Assert.False(VolumeCopyUp.FromLayers([layer], "/abs", volume));
        Assert.Empty(Tree(volume));
    }

    [Fact]
    public void Nothing_is_copied_into_a_volume_that_has_content_or_from_a_path_the_image_lacks()
    {
        var (upper, lower) = Layers();
        string full = Dir("full");
        Write(Path.Combine(full, "mine"), "keep");
        string empty = Dir("empty");

        Assert.False(VolumeCopyUp.FromLayers([upper, lower], "/data", full));
        Assert.Equal(["mine"], Tree(full));
        Assert.False(VolumeCopyUp.FromLayers([upper, lower], "/nowhere", empty));
        Assert.False(VolumeCopyUp.FromLayers([upper, lower], "/data/hidden", empty));
        Assert.False(VolumeCopyUp.FromLayers([upper, lower], "/data/gone", empty));
        Assert.Empty(Tree(empty));
        Assert.Equal("cannot mount volume over existing file, file exists /file",
            Assert.Throws<SkiffException>(() => VolumeCopyUp.FromLayers([upper, lower], "/file", empty)).Message);
    }

    [Fact]
    public void A_plain_directory_copies_too()
    {
        string source = Dir("plain");
        Write(Path.Combine(source, "x", "y"), "z");
        string volume = Dir("volume");

        Assert.True(VolumeCopyUp.CopyUp(source, volume));

        Assert.Equal(["x", "x/y"], Tree(volume));
    }

    [Fact]
    public void Prepare_makes_bind_directories_and_volumes_and_copies_the_image_in()
    {
        var (upper, lower) = Layers();
        var store = new VolumeStore(Dir("root"));
        string missing = Path.Combine(_dir, "made", "by", "v");
        var host = new HostConfig
        {
            Binds = [$"{missing}:/host", "named:/data"],
            Mounts = [new MountSpec { Type = "volume", Target = "/nocopy", Source = "quiet", VolumeOptions = new VolumeOptions { NoCopy = true } }],
            Tmpfs = new Dictionary<string, string> { ["/tmp"] = "size=1m" },
        };
        var parsed = UserMounts.Parse(host, ["/data/sub", "/data"]);

        var mounts = UserMounts.Prepare(parsed, store, [upper, lower]);

        Assert.Equal(["/host", "/data", "/nocopy", "/tmp", "/data/sub"], mounts.Select(m => m.Destination));
        Assert.True(Directory.Exists(missing));
        Assert.Equal(store.DataDir("named"), mounts[1].Source);
        Assert.Contains("new", Tree(mounts[1].Source));
        Assert.Empty(Tree(mounts[2].Source));
        Assert.True(mounts[4].Anonymous);
        Assert.Matches("^[0-9a-f]{64}$", mounts[4].Name);
        Assert.Equal(["b"], Tree(mounts[4].Source));
        Assert.Equal(["named", "quiet", mounts[4].Name], UserMounts.VolumeNamesOf(mounts));
        // Parse's result is left as it was: Prepare works on copies.
        Assert.Equal("", parsed[4].Name);
    }

    [Fact]
    public void A_failed_prepare_removes_the_volumes_it_made()
    {
        var (upper, lower) = Layers();
        var store = new VolumeStore(Dir("root"));
        store.Create("existing");
        var parsed = UserMounts.Parse(new HostConfig { Binds = ["existing:/e", "fresh:/data", "later:/file"] });

        Assert.Throws<SkiffException>(() => UserMounts.Prepare(parsed, store, [upper, lower]));

        Assert.Equal(["existing"], store.List().Select(v => v.Name));
    }
}
