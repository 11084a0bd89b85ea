using System.Text.Json;
using Skiff.Engine.Volumes;
using Skiff.Images;

namespace Skiff.Tests.Volumes;

public sealed class VolumeStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-volumes-").FullName;
    private readonly List<(string, IEnumerable<string>)> _usage = [];

    public void Dispose() => TreeRemover.Remove(_root);

    private VolumeStore Store() => new(_root, () => _usage);

    private string[] Entries() => Directory.GetFileSystemEntries(Path.Combine(_root, "volumes")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Theory]
    [InlineData("ab", true)]
    [InlineData("my-vol_1.data", true)]
    [InlineData("0x", true)]
    [InlineData("a", false)]
    [InlineData("-ab", false)]
    [InlineData(".ab", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    [InlineData("", false)]
    [InlineData("~/x", false)]
    public void Names_follow_dockers_rule(string name, bool valid) => Assert.Equal(valid, VolumeNames.IsValid(name));

    [Fact]
    public void A_volume_is_a_data_directory_and_a_record()
    {
        var v = Store().Create("data", new Dictionary<string, string> { ["k"] = "v" }, new Dictionary<string, string>());

        Assert.Equal(Path.Combine(_root, "volumes", "data", "_data"), v.Mountpoint);
        Assert.True(Directory.Exists(v.Mountpoint));
        Assert.Empty(Directory.GetFileSystemEntries(v.Mountpoint));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "volumes", "data", "volume.json")));
        var r = doc.RootElement;
        Assert.Equal("data", r.GetProperty("Name").GetString());
        Assert.Equal("local", r.GetProperty("Driver").GetString());
        Assert.Equal("local", r.GetProperty("Scope").GetString());
        Assert.Equal(v.Mountpoint, r.GetProperty("Mountpoint").GetString());
        Assert.Equal("v", r.GetProperty("Labels").GetProperty("k").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", r.GetProperty("CreatedAt").GetString());
        Assert.Equal([".lock", "data"], Entries());
    }

    [Fact]
    public void Create_is_idempotent_and_keeps_the_first_volume()
    {
        var store = Store();
        var first = store.Create("same", new Dictionary<string, string> { ["gen"] = "1" });
        File.WriteAllText(Path.Combine(first.Mountpoint, "kept"), "x");

        var second = store.Create("same", new Dictionary<string, string> { ["gen"] = "2" });

        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.Equal("1", second.Labels!["gen"]);
        Assert.True(File.Exists(Path.Combine(second.Mountpoint, "kept")));
    }

    [Fact]
    public void Many_creators_of_one_name_get_one_volume()
    {
        var stores = Enumerable.Range(0, 16).Select(_ => Store()).ToArray();
        var made = new VolumeRecord[stores.Length];

        Parallel.For(0, stores.Length, i => made[i] = stores[i].Create("shared"));

        Assert.Single(made.Select(v => v.CreatedAt).Distinct());
        Assert.Equal([".lock", "shared"], Entries());
    }

    [Fact]
    public void Anonymous_and_unnamed_volumes_get_64_hex_names_and_only_anonymous_ones_the_label()
    {
        var store = Store();
        var anonymous = store.CreateAnonymous();
        var unnamed = store.Create(null);

        Assert.Matches("^[0-9a-f]{64}$", anonymous.Name);
        Assert.Matches("^[0-9a-f]{64}$", unnamed.Name);
        Assert.True(anonymous.Anonymous);
        Assert.Equal("", anonymous.Labels![VolumeNames.AnonymousLabel]);
        Assert.False(unnamed.Anonymous);
        Assert.NotEqual(anonymous.Name, unnamed.Name);
    }

    [Fact]
    public void Bad_names_drivers_and_options_are_refused_with_dockers_words()
    {
        var store = Store();

        Assert.Equal("create a/b: \"a/b\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
            Assert.Throws<SkiffException>(() => store.Create("a/b")).Message);
        Assert.Equal("create ok1: error looking up volume plugin nfs: plugin \"nfs\" not found",
            Assert.Throws<SkiffException>(() => store.Create("ok1", driver: "nfs")).Message);
        Assert.Equal("invalid option key: \"colour\"",
            Assert.Throws<SkiffException>(() => store.Create("ok2", options: new Dictionary<string, string> { ["colour"] = "red" })).Message);
        Assert.Contains("not supported by skiff", Assert.Throws<SkiffException>(() => store.Create("ok3", options: new Dictionary<string, string> { ["type"] = "tmpfs" })).Message);
        Assert.Empty(store.List());
    }

    [Fact]
    public void Leftovers_of_a_dead_process_are_never_volumes_and_are_swept()
    {
        string volumes = Path.Combine(_root, "volumes");
        // A pid that cannot be alive: above pid_max.
        Directory.CreateDirectory(Path.Combine(volumes, ".tmp-99999999-abcdef", "_data"));
        Directory.CreateDirectory(Path.Combine(volumes, ".rm-99999999-abcdef", "_data"));
        Directory.CreateDirectory(Path.Combine(volumes, "norecord", "_data"));
        var store = Store();

        Assert.Empty(store.List());
        Assert.Null(store.Find("norecord"));
        store.Create("real");

        Assert.Equal([".lock", "norecord", "real"], Entries());
        Assert.Equal(["real"], store.List().Select(v => v.Name));
    }

    [Fact]
    public void Remove_refuses_a_volume_in_use_even_with_force()
    {
        var store = Store();
        store.Create("busy");
        _usage.Add(("c1" + new string('0', 62), ["busy"]));
        _usage.Add(("c2" + new string('0', 62), ["busy", "other"]));

        var e = Assert.Throws<SkiffException>(() => store.Remove("busy", force: true));

        Assert.Equal(ErrorCategory.Conflict, e.Category);
        Assert.Equal($"remove busy: volume is in use - [c1{new string('0', 62)}, c2{new string('0', 62)}]", e.Message);
        Assert.NotNull(store.Find("busy"));
    }

    [Fact]
    public void Remove_deletes_the_volume_and_force_forgives_a_missing_one()
    {
        var store = Store();
        var v = store.Create("gone");
        Directory.CreateDirectory(Path.Combine(v.Mountpoint, "deep", "er"));
        File.WriteAllText(Path.Combine(v.Mountpoint, "deep", "er", "f"), "x");
        File.SetUnixFileMode(Path.Combine(v.Mountpoint, "deep"), UnixFileMode.UserRead | UnixFileMode.UserExecute);

        store.Remove("gone", force: false);

        Assert.Null(store.Find("gone"));
        Assert.Equal([".lock"], Entries());
        var e = Assert.Throws<SkiffException>(() => store.Remove("gone", force: false));
        Assert.Equal(ErrorCategory.NotFound, e.Category);
        Assert.Equal("get gone: no such volume", e.Message);
        store.Remove("gone", force: true);
    }

    [Fact]
    public void A_volume_whose_data_cannot_be_removed_comes_back_whole()
    {
        var store = new VolumeStore(_root, removeTree: path =>
        {
            if (path.EndsWith("/_data", StringComparison.Ordinal))
            {
                throw new SystemCallException($"remove {path}", 13);
            }
            TreeRemover.Remove(path);
        });
        var v = store.Create("stuck");
        File.WriteAllText(Path.Combine(v.Mountpoint, "f"), "x");

        var e = Assert.Throws<SkiffException>(() => store.Remove("stuck", force: false));

        Assert.StartsWith("remove stuck: remove ", e.Message);
        Assert.Equal("x", File.ReadAllText(Path.Combine(store.Get("stuck").Mountpoint, "f")));
        Assert.Equal([".lock", "stuck"], Entries());
        Assert.Throws<SkiffException>(() => store.Prune(all: true));
        Assert.Equal([".lock", "stuck"], Entries());
    }

    [Fact]
    public void Prune_takes_unused_anonymous_volumes_and_with_all_every_unused_one()
    {
        var store = Store();
        var anonymous = store.CreateAnonymous();
        var usedAnonymous = store.CreateAnonymous();
        store.Create("named");
        store.Create("usednamed");
        _usage.Add(("c", [usedAnonymous.Name, "usednamed"]));
        File.WriteAllBytes(Path.Combine(anonymous.Mountpoint, "blob"), new byte[1500]);
        File.CreateSymbolicLink(Path.Combine(anonymous.Mountpoint, "link"), "blob");
        Native.Link(Path.Combine(anonymous.Mountpoint, "blob"), Path.Combine(anonymous.Mountpoint, "hard"));

        var (deleted, reclaimed) = store.Prune(all: false);

        Assert.Equal([anonymous.Name], deleted);
        Assert.Equal(1500 + "blob".Length, reclaimed);
        Assert.Equal(new[] { "named", usedAnonymous.Name, "usednamed" }.Order(StringComparer.Ordinal), store.List().Select(v => v.Name).Order(StringComparer.Ordinal));

        var (all, _) = store.Prune(all: true);
        Assert.Equal(["named"], all);
        Assert.Equal(new[] { usedAnonymous.Name, "usednamed" }.Order(StringComparer.Ordinal), store.List().Select(v => v.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Prune_honours_a_filter()
    {
        var store = Store();
        store.Create("keep", new Dictionary<string, string> { ["keep"] = "yes" });
        store.Create("drop");

        var (deleted, _) = store.Prune(all: true, v => v.Labels?.ContainsKey("keep") != true);

        Assert.Equal(["drop"], deleted);
    }

    [Fact]
    public void EnsureForMount_makes_a_named_volume_once_and_an_anonymous_one_each_time()
    {
        var store = Store();

        var (a, createdA) = store.EnsureForMount("cache");
        var (b, createdB) = store.EnsureForMount("cache");
        var (c, createdC) = store.EnsureForMount(null);

        Assert.True(createdA);
        Assert.False(createdB);
        Assert.Equal(a.Mountpoint, b.Mountpoint);
        Assert.True(createdC);
        Assert.True(c.Anonymous);
        Assert.Throws<SkiffException>(() => store.EnsureForMount("./rel"));
    }
}
