using Skiff.Images;

namespace Skiff.Tests.Images;

public sealed class InitLayerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-init-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Layer(string name, params string[] entries)
    {
        string layer = Path.Combine(_root, name);
        Directory.CreateDirectory(layer);
        foreach (string e in entries)
        {
            string path = Path.Combine(layer, e.TrimEnd('/'));
            if (e.EndsWith('/'))
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, "x");
            }
        }
        return layer;
    }

    [Fact]
    public void A_scratch_image_gets_every_mount_point()
    {
        Assert.Equal(["proc", "sys", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf"], InitLayer.Missing([Layer("empty")]));
    }

    [Fact]
    public void What_any_layer_has_is_left_alone()
    {
        var top = Layer("top", "etc/hostname", "proc/");
        var bottom = Layer("bottom", "etc/hosts", "sys/", "dev/");
        Assert.Equal(["etc/resolv.conf"], InitLayer.Missing([top, bottom]));
    }

    [Fact]
    public void Nothing_is_made_below_or_through_a_symlink()
    {
        var top = Layer("top", "proc/", "sys/", "dev/");
        File.CreateSymbolicLink(Path.Combine(top, "etc"), "/etc"); // on the host, /etc/hosts exists: never looked at
        var bottom = Layer("bottom", "etc/");
        Assert.Empty(InitLayer.Missing([top, bottom]));
    }

    [Fact]
    public void Making_one_sweeps_what_dead_runs_left_half_made()
    {
        string init = Path.Combine(_root, "init");
        int deadPid = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max")); // pids stay below it
        string dead = Path.Combine(init, $".tmp-{deadPid}-0123", "etc");
        string live = Path.Combine(init, $".tmp-{Environment.ProcessId}-4567");
        Directory.CreateDirectory(dead);
        Directory.CreateDirectory(live);

        string? made = InitLayer.Ensure(init, "abc", [Layer("empty")]);

        Assert.Equal(Path.Combine(init, "abc"), made);
        Assert.False(Directory.Exists(Path.GetDirectoryName(dead)));
        Assert.True(Directory.Exists(live));
    }

    [Fact]
    public void Removing_what_was_never_made_is_fine()
    {
        InitLayer.Remove(Path.Combine(_root, "never"), "abc");
        Directory.CreateDirectory(Path.Combine(_root, "init"));
        InitLayer.Remove(Path.Combine(_root, "init"), "abc");
    }

    [Fact]
    public void Ensure_makes_the_layer_once_and_marks_an_image_that_needs_none()
    {
        string dir = Path.Combine(_root, "init");
        var image = Layer("image", "proc/", "sys/", "dev/", "etc/passwd");
        string? init = InitLayer.Ensure(dir, "abc", [image]);
        Assert.Equal(Path.Combine(dir, "abc"), init);
        Assert.True(File.Exists(Path.Combine(init!, "etc", "hosts")));
        Assert.Equal(0, new FileInfo(Path.Combine(init!, "etc", "resolv.conf")).Length);
        Assert.False(Directory.Exists(Path.Combine(init!, "proc")));
        Assert.Equal(init, InitLayer.Ensure(dir, "abc", [image]));
        Assert.Empty(Directory.GetDirectories(dir, ".tmp-*"));

        var full = Layer("full", "proc/", "sys/", "dev/", "etc/hosts", "etc/hostname", "etc/resolv.conf");
        Assert.Null(InitLayer.Ensure(dir, "def", [full]));
        Assert.True(File.Exists(Path.Combine(dir, "def.none")));
        Assert.Null(InitLayer.Ensure(dir, "def", [full]));

        InitLayer.Remove(dir, "abc");
        InitLayer.Remove(dir, "def");
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }
}
