using Skiff.Images;

namespace Skiff.Tests.Images;

public sealed class StoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-store-").FullName;

    public void Dispose() => TreeRemover.Remove(_root);

    private ImageStore Store() => new(_root, new UnpackOptions { IgnoreOwners = Environment.UserName != "root" });

    private static string[] Tree(string dir) =>
        Directory.Exists(dir) ? Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories) : [];

    [Fact]
    public void A_blob_whose_digest_does_not_match_is_not_stored()
    {
        var content = Store().Content;

        var e = Assert.Throws<SkiffException>(() => content.Put("hello"u8, Digest.Of("other"u8)));

        Assert.Contains("digest mismatch", e.Message);
        Assert.Empty(Tree(content.BlobsDir));
        Assert.Empty(Tree(content.IngestDir));
    }

    [Fact]
    public void A_blob_lands_under_its_digest()
    {
        var content = Store().Content;

        var d = content.Put("hello"u8);

        Assert.Equal("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", d.ToString());
        Assert.Equal("hello", File.ReadAllText(content.PathOf(d)));
    }

    [Fact]
    public void A_layer_is_unpacked_under_its_chain_id_and_checked_against_its_diff_id()
    {
        var store = Store();
        byte[] tar = new TarBuilder().File("hello", "world").Tar();
        var blob = store.Content.Put(new TarBuilder().File("hello", "world").Gzip());

        var layer = store.Layers.Unpack(store.Content.PathOf(blob), null, Digest.Of(tar));

        Assert.Equal(Digest.Of(tar), layer.DiffId);
        Assert.Equal(layer.DiffId, layer.ChainId);
        Assert.Equal("world", File.ReadAllText(Path.Combine(store.Layers.DiffOf(layer.ChainId), "hello")));
        Assert.Equal(tar.Length, store.Layers.SizeOf(layer.ChainId));
    }

    [Fact]
    public void A_layer_whose_diff_id_does_not_match_leaves_nothing()
    {
        var store = Store();
        var blob = store.Content.Put(new TarBuilder().File("hello", "world").Gzip());

        var e = Assert.Throws<SkiffException>(() => store.Layers.Unpack(store.Content.PathOf(blob), null, Digest.Of("x"u8)));

        Assert.Contains("diffID mismatch", e.Message);
        Assert.Empty(Tree(store.Layers.Dir));
    }

    [Fact]
    public void A_hostile_layer_leaves_nothing()
    {
        var store = Store();
        var blob = store.Content.Put(new TarBuilder().File("fine", "x").File("../../evil", "x").Gzip());

        Assert.Throws<SkiffException>(() => store.Layers.Unpack(store.Content.PathOf(blob), null, null));

        Assert.Empty(Tree(store.Layers.Dir));
    }

    [Fact]
    public void Corrupt_gzip_is_refused_and_leaves_nothing()
    {
        var store = Store();
        byte[] gz = new TarBuilder().File("fine", new string('x', 100000)).Gzip();
        gz[gz.Length / 2] ^= 0xff;
        gz[gz.Length / 2 + 1] ^= 0xff;
        var blob = store.Content.Put(gz);

        var e = Assert.Throws<SkiffException>(() => store.Layers.Unpack(store.Content.PathOf(blob), null, null));

        Assert.Contains("corrupt", e.Message);
        Assert.Empty(Tree(store.Layers.Dir));
    }

    [Fact]
    public void Chain_ids_follow_the_spec()
    {
        var a = Digest.Of("a"u8);
        var b = Digest.Of("b"u8);

        Assert.Equal(a, Digest.Chain(null, a));
        Assert.Equal(Digest.Of(System.Text.Encoding.ASCII.GetBytes($"{a} {b}")), Digest.Chain(a, b));
    }

    private ImageRecord ImportTar(ImageStore store, string name, params string[] changes)
    {
        string tar = Path.Combine(_root, Guid.NewGuid() + ".tar");
        File.WriteAllBytes(tar, new TarBuilder().Dir("bin/").File("bin/sh", "sh", 0b111_101_101).File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n").Tar());
        return ImageImport.Import(store, tar, [ImageReference.Parse(name)], changes, null);
    }

    [Fact]
    public void Import_records_an_image_with_a_launch_record()
    {
        var store = Store();

        var image = ImportTar(store, "example:1", "CMD [\"/bin/sh\"]", "ENV A=1", "WORKDIR /tmp", "USER nobody");

        var found = store.Resolve("example:1");
        Assert.Equal(image.Id, found.Id);
        Assert.Equal(["docker.io/library/example:1"], found.Names);
        var launch = store.ReadLaunch(found);
        Assert.Equal(["/bin/sh"], launch.Cmd);
        Assert.Equal(["A=1"], launch.Env);
        Assert.Equal("/tmp", launch.WorkingDir);
        Assert.Equal("nobody", launch.User);
        Assert.Single(launch.Layers);
        Assert.True(File.Exists(Path.Combine(launch.Layers[0], "bin/sh")));
        Assert.Equal(found.Id, store.Resolve(found.Id[7..19]).Id);
        var manifest = store.ReadManifest(found);
        Assert.Equal(MediaTypes.OciLayer, manifest.Layers[0].MediaType);
    }

    [Fact]
    public void Tag_then_rmi_untags_before_it_deletes()
    {
        var store = Store();
        var image = ImportTar(store, "example:1");
        store.Tag("example:1", ImageReference.Parse("other/name:2"));

        Assert.Equal(["Untagged: example:1"], store.Remove("example:1", force: false));
        Assert.Equal(image.Id, store.Resolve("other/name:2").Id);

        var lines = store.Remove("other/name:2", force: false);

        Assert.Equal(["Untagged: other/name:2", "Deleted: " + image.Id], lines);
        Assert.Empty(store.ReadIndex().Images);
        Assert.Empty(store.Layers.All());
        Assert.Empty(store.Content.All());
    }

    [Fact]
    public void Rmi_by_id_of_an_image_with_several_names_needs_force()
    {
        var store = Store();
        var image = ImportTar(store, "example:1");
        store.Tag("example:1", ImageReference.Parse("example:2"));

        var e = Assert.Throws<SkiffException>(() => store.Remove(image.Id[7..19], force: false));
        Assert.Contains("must be forced", e.Message);

        store.Remove(image.Id[7..19], force: true);
        Assert.Empty(store.ReadIndex().Images);
    }

    [Fact]
    public void A_name_moves_to_the_newer_image()
    {
        var store = Store();
        var first = ImportTar(store, "example:1", "ENV V=1");
        var second = ImportTar(store, "example:1", "ENV V=2");

        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(second.Id, store.Resolve("example:1").Id);
        Assert.Empty(store.ReadIndex().Images.Single(i => i.Id == first.Id).Names);
    }

    [Fact]
    public void Missing_image_is_not_found()
    {
        var e = Assert.Throws<SkiffException>(() => Store().Resolve("nothing:here"));
        Assert.Equal(ErrorCategory.NotFound, e.Category);
    }
}
