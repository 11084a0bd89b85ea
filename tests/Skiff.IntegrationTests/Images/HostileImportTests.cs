using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>
/// Crafted tarballs that try to write outside the layer, and broken streams: refused with
/// one `skiff:` line and exit 125, and the store exactly as it was before.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class HostileImportTests(SkiffInstall install)
{
    public static TheoryData<Mode, string> Cases()
    {
        var data = new TheoryData<Mode, string>();
        foreach (var mode in new[] { Mode.Root, Mode.Rootless })
        {
            foreach (var c in new[] { "tar-slip", "absolute-slip", "symlink-escape", "hardlink-escape", "hardlink-through-symlink", "truncated" })
            {
                data.Add(mode, c);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public async Task Hostile_layer_is_refused_and_nothing_is_stored(Mode mode, string kind)
    {
        using var box = install.NewSandbox(mode);
        // A store that already holds an image: it must come out of the refusal unchanged.
        (await box.Skiff(["import", await LayerTarballs.BusyboxAsync(box), "before"])).AssertExit(0);
        var before = LayerTarballs.StoreSnapshot(box);
        string victim = Path.Combine(box.Dir, "victim");
        Directory.CreateDirectory(victim);
        SkiffInstall.MakeWorldReadable(victim);
        string tar = Hostile(box, kind, victim);

        var result = await box.Skiff(["import", tar, "hostile"]);

        result.AssertExit(125);
        Assert.True(result.StderrLines.Count == 1 && result.StderrLines[0].StartsWith("skiff: ", StringComparison.Ordinal), $"one skiff: line expected: {result}");
        Assert.Empty(result.Stdout);
        Assert.Equal(before, LayerTarballs.StoreSnapshot(box));
        Assert.Empty(Directory.GetFileSystemEntries(victim));
        Assert.False(File.Exists(Path.Combine(box.Dir, "evil")));
        Assert.False(File.Exists(Path.Combine(box.StorageRoot, "evil")));
        (await box.Skiff(["run", "--rm", "before", "true"])).AssertExit(0);
    }

    private static string Hostile(Sandbox box, string kind, string victim) => kind switch
    {
        "tar-slip" => LayerTarballs.Write(box, "slip.tar", t =>
        {
            LayerTarballs.File(t, "fine", "x");
            LayerTarballs.File(t, "../../../evil", "gotcha");
        }),
        "absolute-slip" => LayerTarballs.Write(box, "abs.tar", t => LayerTarballs.File(t, "/../../../../evil", "gotcha")),
        "symlink-escape" => LayerTarballs.Write(box, "symlink.tar", t =>
        {
            LayerTarballs.Symlink(t, "escape", victim);
            LayerTarballs.File(t, "escape/evil", "gotcha");
        }),
        "hardlink-escape" => LayerTarballs.Write(box, "hardlink.tar", t =>
        {
            LayerTarballs.HardLink(t, "passwd", "../../../../../../etc/passwd");
        }),
        "hardlink-through-symlink" => LayerTarballs.Write(box, "hardlink2.tar", t =>
        {
            LayerTarballs.Symlink(t, "etc", "/etc");
            LayerTarballs.HardLink(t, "passwd", "etc/passwd");
        }),
        "truncated" => Truncated(box),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static string Truncated(Sandbox box)
    {
        string path = LayerTarballs.Write(box, "truncated.tar.gz", t => LayerTarballs.File(t, "big", new string('x', 200_000) + Guid.NewGuid()), gzip: true);
        byte[] all = File.ReadAllBytes(path);
        File.WriteAllBytes(path, all[..(all.Length / 2)]);
        return path;
    }

    [Theory, BothModes]
    public async Task Missing_tarball_is_refused(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Skiff(["import", Path.Combine(box.Dir, "missing.tar"), "x"]);

        result.AssertExit(125);
        Assert.Single(result.StderrLines);
        Assert.Contains("missing.tar", result.Stderr);
        Assert.Equal([], LayerTarballs.StoreSnapshot(box));
    }

    [Theory, BothModes]
    public async Task Bad_change_is_refused_before_anything_is_written(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.Skiff(["import", "-c", "RUN rm -rf /", await LayerTarballs.BusyboxAsync(box), "x"]);

        result.AssertExit(125);
        Assert.Contains("invalid --change", result.Stderr);
        Assert.Equal([], LayerTarballs.StoreSnapshot(box));
    }
}
