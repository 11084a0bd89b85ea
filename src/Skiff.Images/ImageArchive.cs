using System.Formats.Tar;
using System.Text.Json;

namespace Skiff.Images;

public enum ArchiveFormat
{
    /// <summary>docker save: manifest.json, configs and uncompressed layer tars (plus an OCI layout beside them, as Docker 25 writes).</summary>
    Docker,
    /// <summary>An OCI image layout in a tar: oci-layout, index.json, blobs/sha256/.</summary>
    Oci,
}

/// <summary>
/// load and save: Docker archives and OCI layouts (a directory or a tar of one). Loading
/// extracts members under ingest/ (names cleaned, nothing outside), then every blob is
/// checked against its digest and every layer against its diffID before the image is recorded.
/// </summary>
public static class ImageArchive
{
    private const string ExtractPrefix = "x-";

    public static List<string> Load(ImageStore store, Stream input, string platform = "linux/amd64")
    {
        Directory.CreateDirectory(store.Content.IngestDir);
        string dir = Path.Combine(store.Content.IngestDir, TempNames.New(ContentStore.IngestPrefix + ExtractPrefix));
        Directory.CreateDirectory(dir);
        try
        {
            var (compression, sniffed) = PrefixedStream.Sniff(input);
            using var plain = LayerCompression.Decompress(sniffed, compression);
            try
            {
                Extract(plain, dir);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ZstdSharp.ZstdException)
            {
                throw SkiffException.Invalid($"the archive is corrupt or truncated: {e.Message}");
            }
            return LoadLayout(store, dir, platform);
        }
        finally
        {
            TreeRemover.Remove(dir);
        }
    }

    /// <summary>An OCI layout directory or a Docker archive directory, already on disk.</summary>
    public static List<string> LoadLayout(ImageStore store, string dir, string platform)
    {
        var pending = new PendingContent();
        try
        {
            if (File.Exists(Path.Combine(dir, "manifest.json")))
            {
                return LoadDocker(store, dir, pending);
            }
            if (File.Exists(Path.Combine(dir, "index.json")))
            {
                return LoadOci(store, dir, platform, pending);
            }
        }
        catch
        {
            store.Discard(pending);
            throw;
        }
        throw SkiffException.Invalid("not an image archive: it has neither manifest.json (Docker) nor index.json (OCI layout)");
    }

    private static void Extract(Stream tar, string dir)
    {
        using var reader = new TarReader(tar, leaveOpen: true);
        var links = new List<(string Name, string Target)>();
        TarEntry? e;
        while ((e = reader.GetNextEntry()) is not null)
        {
            string rel = LayerUnpacker.Clean(e.Name);
            if (rel.Length == 0)
            {
                continue;
            }
            string path = Path.Combine(dir, rel);
            switch (e.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(path);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    using (var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                    {
                        e.DataStream?.CopyTo(f, 1 << 17);
                    }
                    break;
                case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                    // Old Docker archives link duplicate layers; resolved inside the archive, never on the host.
                    string baseDir = e.EntryType == TarEntryType.HardLink ? "" : (Path.GetDirectoryName(rel) ?? "");
                    links.Add((rel, LayerUnpacker.Clean(e.LinkName.StartsWith('/') ? e.LinkName : Path.Combine(baseDir, e.LinkName))));
                    break;
                default:
                    break;
            }
        }
        foreach (var (name, target) in links)
        {
            string source = Path.Combine(dir, target);
            if ((Native.LstatMode(source) & Native.S_IFMT) != Native.S_IFREG)
            {
                throw SkiffException.Invalid($"archive member {name} links to {target}, which is not a file in the archive");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, name))!);
            File.Copy(source, Path.Combine(dir, name), overwrite: true);
        }
    }

    private static string Member(string dir, string name)
    {
        string rel = LayerUnpacker.Clean(name);
        string path = Path.Combine(dir, rel);
        if (rel.Length == 0 || (Native.LstatMode(path) & Native.S_IFMT) != Native.S_IFREG)
        {
            throw SkiffException.Invalid($"the archive names {name}, which it does not hold");
        }
        return path;
    }

    private static List<string> LoadDocker(ImageStore store, string dir, PendingContent pending)
    {
        var entries = SpecJson.Parse(File.ReadAllBytes(Path.Combine(dir, "manifest.json")), ImageJson.Default.ListDockerArchiveEntry, "manifest.json of the archive");
        var loaded = new List<string>();
        foreach (var entry in entries)
        {
            byte[] configBytes = File.ReadAllBytes(Member(dir, entry.Config));
            var config = SpecJson.Parse(configBytes, ImageJson.Default.ImageConfig, $"image config {entry.Config}");
            if (config.RootFs.DiffIds.Count != entry.Layers.Count)
            {
                throw SkiffException.Invalid($"image config {entry.Config} lists {config.RootFs.DiffIds.Count} layers, the archive {entry.Layers.Count}");
            }
            var names = (entry.RepoTags ?? []).Select(ImageReference.Parse).ToList();
            var layers = new List<LayerInfo>();
            var descriptors = new List<Descriptor>();
            Digest? parent = null;
            for (int i = 0; i < entry.Layers.Count; i++)
            {
                var diffId = Digest.Parse(config.RootFs.DiffIds[i], "layer diffID");
                string file = Member(dir, entry.Layers[i]);
                var (blob, compression) = AdoptLayer(store, file, pending);
                var layer = store.Layers.Unpack(store.Content.PathOf(blob), parent, diffId);
                pending.Layer(layer);
                layers.Add(layer);
                parent = layer.ChainId;
                descriptors.Add(new Descriptor { MediaType = LayerCompression.OciMediaType(compression), Digest = blob.ToString(), Size = store.Content.SizeOf(blob) });
            }
            var configDigest = store.Content.Put(configBytes);
            var manifest = new Manifest
            {
                MediaType = MediaTypes.OciManifest,
                Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest.ToString(), Size = configBytes.Length },
                Layers = descriptors,
            };
            var manifestDigest = store.Content.Put(JsonSerializer.SerializeToUtf8Bytes(manifest, ImageJson.Default.Manifest));
            var image = store.Commit(manifestDigest, MediaTypes.OciManifest, configDigest, config, layers, names);
            loaded.AddRange(names.Count > 0 ? names.Select(n => "Loaded image: " + n.Familiar) : ["Loaded image ID: " + image.Id]);
        }
        return loaded;
    }

    private static (Digest, Compression) AdoptLayer(ImageStore store, string file, PendingContent pending)
    {
        Compression c;
        using (var f = File.OpenRead(file))
        {
            c = LayerCompression.Detect(f);
        }
        // The same file may be named by several images of one archive: keep it for the next one.
        string copy = file + ".adopt";
        File.Copy(file, copy, overwrite: true);
        var d = store.Content.Adopt(copy);
        pending.Blobs.Add(d);
        return (d, c);
    }

    private static List<string> LoadOci(ImageStore store, string dir, string platform, PendingContent pending)
    {
        var index = SpecJson.Parse(File.ReadAllBytes(Path.Combine(dir, "index.json")), ImageJson.Default.ImageIndexDocument, "index.json of the OCI layout");
        var loaded = new List<string>();
        foreach (var d in index.Manifests)
        {
            var (manifestDigest, manifest, mediaType) = ResolveManifest(dir, d, platform);
            var configDigest = Digest.Parse(manifest.Config.Digest, "config");
            byte[] configBytes = File.ReadAllBytes(Blob(dir, configDigest));
            var config = SpecJson.Parse(configBytes, ImageJson.Default.ImageConfig, $"image config {configDigest}");
            if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
            {
                throw SkiffException.Invalid($"image config {configDigest.Short} lists {config.RootFs.DiffIds.Count} layers, its manifest {manifest.Layers.Count}");
            }
            var layers = new List<LayerInfo>();
            Digest? parent = null;
            for (int i = 0; i < manifest.Layers.Count; i++)
            {
                var blob = Digest.Parse(manifest.Layers[i].Digest, "layer");
                if (!store.Content.Has(blob))
                {
                    string copy = Blob(dir, blob) + ".adopt";
                    File.Copy(Blob(dir, blob), copy, overwrite: true);
                    store.Content.Adopt(copy, blob);
                    pending.Blobs.Add(blob);
                }
                var layer = store.Layers.Unpack(store.Content.PathOf(blob), parent, Digest.Parse(config.RootFs.DiffIds[i], "layer diffID"));
                pending.Layer(layer);
                layers.Add(layer);
                parent = layer.ChainId;
            }
            store.Content.Put(configBytes, configDigest);
            store.Content.Put(File.ReadAllBytes(Blob(dir, manifestDigest)), manifestDigest);
            var names = NamesOf(d);
            var image = store.Commit(manifestDigest, mediaType, configDigest, config, layers, names);
            loaded.AddRange(names.Count > 0 ? names.Select(n => "Loaded image: " + n.Familiar) : ["Loaded image ID: " + image.Id]);
        }
        return loaded;
    }

    private static List<ImageReference> NamesOf(Descriptor d)
    {
        var names = new List<ImageReference>();
        if (d.Annotations is null)
        {
            return names;
        }
        if (d.Annotations.TryGetValue("io.containerd.image.name", out var full) && ImageReference.TryParse(full, out var r))
        {
            names.Add(r);
        }
        else if (d.Annotations.TryGetValue("org.opencontainers.image.ref.name", out var refName)
                 && (refName.Contains('/') || refName.Contains(':')) && ImageReference.TryParse(refName, out r))
        {
            // A whole reference; a bare tag (as skopeo writes) names no repository, so the image loads untagged.
            names.Add(r);
        }
        return names;
    }

    private static string Blob(string dir, Digest d)
    {
        string path = Path.Combine(dir, "blobs", "sha256", d.Hex);
        if (!File.Exists(path))
        {
            throw SkiffException.Invalid($"the OCI layout is missing blob {d}");
        }
        return path;
    }

    private static (Digest, Manifest, string) ResolveManifest(string dir, Descriptor d, string platform)
    {
        for (int depth = 0; depth < 4; depth++)
        {
            var digest = Digest.Parse(d.Digest, "manifest");
            byte[] bytes = File.ReadAllBytes(Blob(dir, digest));
            if (Digest.Of(bytes) != digest)
            {
                throw SkiffException.Invalid($"digest mismatch: blob {digest} of the OCI layout holds other bytes");
            }
            string? mt = SpecJson.MediaTypeOf(bytes) ?? d.MediaType;
            if (MediaTypes.IsIndex(mt) || MediaTypes.IsIndex(d.MediaType))
            {
                var index = SpecJson.Parse(bytes, ImageJson.Default.ImageIndexDocument, $"image index {digest.Short}");
                d = PlatformChoice.Choose(index, platform);
                continue;
            }
            return (digest, SpecJson.Parse(bytes, ImageJson.Default.Manifest, $"manifest {digest.Short}"), mt ?? MediaTypes.OciManifest);
        }
        throw SkiffException.Invalid("image indexes nest too deep");
    }
}

/// <summary>Picks a manifest out of an index or manifest list by platform (os/arch[/variant]).</summary>
public static class PlatformChoice
{
    public static Descriptor Choose(ImageIndexDocument index, string platform)
    {
        var parts = platform.Split('/');
        if (parts.Length is < 2 or > 3)
        {
            throw SkiffException.Invalid($"invalid platform \"{platform}\": use OS/ARCH[/VARIANT]");
        }
        var candidates = index.Manifests.Where(m => m.Platform is { } p && p.Os == parts[0] && p.Architecture == parts[1]
            && (parts.Length == 2 || p.Variant == parts[2])).ToList();
        if (candidates.Count > 0)
        {
            return candidates[0];
        }
        if (index.Manifests.Count == 1 && index.Manifests[0].Platform is null)
        {
            return index.Manifests[0];
        }
        string have = string.Join(", ", index.Manifests.Where(m => m.Platform is not null).Select(m => m.Platform!.ToString()));
        throw SkiffException.NotFound($"no image for platform {platform} (the index has: {(have.Length == 0 ? "none" : have)})");
    }
}
