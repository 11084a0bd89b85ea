using Skiff.Cli.Commands;
using Skiff.Images;

namespace Skiff.Tests.Images;

public sealed class HistoryPruneTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-prune-").FullName;

    public void Dispose() => TreeRemover.Remove(_root);

    private ImageStore Store() => new(_root, new UnpackOptions { IgnoreOwners = Environment.UserName != "root" });

    private ImageRecord Import(ImageStore store, string name, string content = "sh", params string[] changes)
    {
        string tar = Path.Combine(_root, Guid.NewGuid() + ".tar");
        File.WriteAllBytes(tar, new TarBuilder().Dir("bin/").File("bin/sh", content, 0b111_101_101).Tar());
        return ImageImport.Import(store, tar, [ImageReference.Parse(name)], changes, null);
    }

    /// <summary>An image with a Dockerfile-like history: empty_layer entries around its one layer.</summary>
    private ImageRecord WithHistory(ImageStore store)
    {
        string tar = Path.Combine(_root, "h.tar");
        File.WriteAllBytes(tar, new TarBuilder().Dir("bin/").File("bin/sh", new string('x', 5000), 0b111_101_101).Tar());
        var blob = store.Content.Adopt(tar);
        var layer = store.Layers.Unpack(store.Content.PathOf(blob), null, null);
        var config = new ImageConfig
        {
            Architecture = "amd64",
            Os = "linux",
            Created = "2024-01-02T00:00:00Z",
            RootFs = new RootFs { DiffIds = [layer.DiffId.ToString()] },
            History =
            [
                new HistoryEntry { Created = "2024-01-01T00:00:00Z", CreatedBy = "/bin/sh -c #(nop) ADD file:abc in / " },
                new HistoryEntry { Created = "2024-01-02T00:00:00Z", CreatedBy = "/bin/sh -c #(nop)  CMD [\"sh\"]", EmptyLayer = true, Comment = "last" },
            ],
        };
        return ImageImport.CommitSingleLayer(store, config, blob, Compression.None, layer, [ImageReference.Parse("hist:1")]);
    }

    [Fact]
    public void History_is_newest_first_with_the_image_id_on_top_and_empty_layers_at_zero()
    {
        var store = Store();
        var image = WithHistory(store);

        var rows = store.History(image);

        Assert.Equal(2, rows.Count);
        Assert.Equal(image.Id, rows[0].Id);
        Assert.Equal("/bin/sh -c #(nop)  CMD [\"sh\"]", rows[0].CreatedBy);
        Assert.Equal(0, rows[0].Size);
        Assert.Equal("last", rows[0].Comment);
        Assert.Equal("<missing>", rows[1].Id);
        Assert.Equal("2024-01-01T00:00:00Z", rows[1].Created);
        Assert.Equal(store.Layers.SizeOf(Digest.Parse(image.Layers[0], "layer")), rows[1].Size);
        Assert.True(rows[1].Size > 5000);
    }

    [Fact]
    public void Created_by_is_cut_to_45_characters_unless_no_trunc()
    {
        string longer = "/bin/sh -c apt-get update && apt-get install -y curl\tgit";

        Assert.Equal(45, HistoryCommand.CreatedBy(longer, false).Length);
        Assert.EndsWith("…", HistoryCommand.CreatedBy(longer, false));
        Assert.Equal(longer.Replace('\t', ' '), HistoryCommand.CreatedBy(longer, true));
        Assert.Equal("short", HistoryCommand.CreatedBy("short", false));
    }

    [Fact]
    public void Prune_removes_only_dangling_images_and_what_only_they_used()
    {
        var store = Store();
        var kept = Import(store, "keep:1", "a");
        var dangling = Import(store, "moved:1", "b");
        Import(store, "moved:1", "c");

        var (lines, reclaimed) = store.Prune(all: false);

        Assert.Equal(["deleted: " + dangling.Id], lines);
        Assert.True(reclaimed > 0);
        var index = store.ReadIndex();
        Assert.DoesNotContain(index.Images, i => i.Id == dangling.Id);
        Assert.Contains(index.Images, i => i.Id == kept.Id);
        Assert.False(store.Content.Has(Digest.Parse(dangling.Id, "image")));
        Assert.Equal(2, store.Layers.All().Count());
        var again = store.Prune(all: false);
        Assert.Empty(again.Lines);
        Assert.Equal(0, again.Reclaimed);
    }

    [Fact]
    public void Prune_all_spares_images_a_container_uses()
    {
        var store = Store();
        var used = Import(store, "used:1", "a");
        var unused = Import(store, "unused:1", "b");
        ContainerUsage.Record(Path.Combine(store.ContainersDir, "c0ffee"), used.Id);

        var (lines, _) = store.Prune(all: true);

        Assert.Equal(["untagged: unused:1", "deleted: " + unused.Id], lines);
        Assert.Equal([used.Id], store.ReadIndex().Images.Select(i => i.Id));
    }

    [Fact]
    public void Rmi_is_refused_while_a_container_uses_the_image_and_forced_only_untags()
    {
        var store = Store();
        var image = Import(store, "busybox:latest");
        string container = new string('e', 64);
        ContainerUsage.Record(Path.Combine(store.ContainersDir, container), image.Id);

        var e = Assert.Throws<SkiffException>(() => store.Remove("busybox", force: false));
        Assert.Equal(ErrorCategory.Conflict, e.Category);
        Assert.Equal($"conflict: unable to remove repository reference \"busybox\" (must force) - container {container[..12]} is using its referenced image {image.Id[7..19]}", e.Message);
        var byId = Assert.Throws<SkiffException>(() => store.Remove(image.Id[7..19], force: false));
        Assert.Contains("image is being used by running container " + container[..12], byId.Message);

        Assert.Equal(["Untagged: busybox:latest"], store.Remove("busybox", force: true));
        Assert.Empty(store.ReadIndex().Images.Single().Names);

        // Once the container directory is gone (the container exited), the image goes.
        Directory.Delete(Path.Combine(store.ContainersDir, container), recursive: true);
        Assert.Equal(["Deleted: " + image.Id], store.Remove(image.Id, force: false));
        Assert.Empty(store.Layers.All());
    }

    [Fact]
    public void Container_usage_reads_only_directories_that_name_an_image()
    {
        string containers = Path.Combine(_root, "containers");
        Assert.Empty(ContainerUsage.All(containers));
        ContainerUsage.Record(Path.Combine(containers, "a"), "sha256:1");
        Directory.CreateDirectory(Path.Combine(containers, "rootfs-run"));

        Assert.Equal([("a", "sha256:1")], ContainerUsage.All(containers));
        Assert.Equal(["a"], ContainerUsage.UsersOf(containers, "sha256:1"));
        Assert.Empty(ContainerUsage.UsersOf(containers, "sha256:2"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.Combine(containers, "a")));
    }
}
