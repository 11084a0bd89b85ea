using System.Formats.Tar;
using System.Text.Json;

namespace Skiff.Images;

/// <summary>
/// save: images to a Docker archive (manifest.json and uncompressed layers, with an OCI
/// layout beside them as Docker 25 writes) or to an OCI archive (blobs exactly as stored).
/// </summary>
public static class ImageArchiveWriter
{
    private sealed record Saved(ImageRecord Image, List<ImageReference> Names);

    public static void Save(ImageStore store, IReadOnlyList<string> references, Stream output, ArchiveFormat format)
    {
        // Every name resolves before a byte is written.
        var index = store.ReadIndex();
        var saved = new List<Saved>();
        foreach (var reference in references)
        {
            var image = ImageStore.Find(index, reference) ?? throw SkiffException.NotFound($"no such image: {reference}");
            var names = ImageReference.TryParse(reference, out var r) && r.Digest is null && image.Names.Contains(r.ToString()) ? [r] : new List<ImageReference>();
            if (saved.FirstOrDefault(s => s.Image.Id == image.Id) is { } same)
            {
                same.Names.AddRange(names);
            }
            else
            {
                saved.Add(new Saved(image, names));
            }
        }
        using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var written = new HashSet<string>();
        if (format == ArchiveFormat.Oci)
        {
            WriteOci(store, saved, tar, written);
        }
        else
        {
            WriteDocker(store, saved, tar, written);
        }
    }

    private static void WriteOci(ImageStore store, List<Saved> saved, TarWriter tar, HashSet<string> written)
    {
        Bytes(tar, "oci-layout", JsonSerializer.SerializeToUtf8Bytes(new OciLayoutFile(), ImageJson.Default.OciLayoutFile));
        var index = new ImageIndexDocument { MediaType = MediaTypes.OciIndex };
        foreach (var s in saved)
        {
            var manifestDigest = Digest.Parse(s.Image.Manifest, "manifest");
            var manifest = store.ReadManifest(s.Image);
            StoredBlob(store, tar, manifestDigest, written);
            StoredBlob(store, tar, Digest.Parse(manifest.Config.Digest, "config"), written);
            foreach (var layer in manifest.Layers)
            {
                StoredBlob(store, tar, Digest.Parse(layer.Digest, "layer"), written);
            }
            var descriptors = s.Names.Count == 0 ? [Describe(store, s.Image, null)] : s.Names.Select(n => Describe(store, s.Image, n)).ToList();
            index.Manifests.AddRange(descriptors);
        }
        Bytes(tar, "index.json", JsonSerializer.SerializeToUtf8Bytes(index, ImageJson.Default.ImageIndexDocument));
    }

    private static Descriptor Describe(ImageStore store, ImageRecord image, ImageReference? name)
    {
        var d = Digest.Parse(image.Manifest, "manifest");
        var descriptor = new Descriptor { MediaType = image.ManifestMediaType, Digest = d.ToString(), Size = store.Content.SizeOf(d) };
        if (name is not null)
        {
            descriptor.Annotations = new Dictionary<string, string>
            {
                ["io.containerd.image.name"] = name.ToString(),
                ["org.opencontainers.image.ref.name"] = name.Tag ?? "latest",
            };
        }
        return descriptor;
    }

    private static void WriteDocker(ImageStore store, List<Saved> saved, TarWriter tar, HashSet<string> written)
    {
        var entries = new List<DockerArchiveEntry>();
        var index = new ImageIndexDocument { MediaType = MediaTypes.OciIndex };
        foreach (var s in saved)
        {
            var configDigest = Digest.Parse(s.Image.Id, "image");
            var config = store.ReadConfig(s.Image);
            var manifest = store.ReadManifest(s.Image);
            StoredBlob(store, tar, configDigest, written);
            var layerNames = new List<string>();
            var ociLayers = new List<Descriptor>();
            for (int i = 0; i < manifest.Layers.Count; i++)
            {
                var diffId = Digest.Parse(config.RootFs.DiffIds[i], "layer diffID");
                long size = UncompressedBlob(store, tar, Digest.Parse(manifest.Layers[i].Digest, "layer"), diffId, written);
                layerNames.Add("blobs/sha256/" + diffId.Hex);
                ociLayers.Add(new Descriptor { MediaType = MediaTypes.OciLayer, Digest = diffId.ToString(), Size = size });
            }
            entries.Add(new DockerArchiveEntry
            {
                Config = "blobs/sha256/" + configDigest.Hex,
                RepoTags = s.Names.Select(n => n.Familiar).ToList(),
                Layers = layerNames,
            });
            // The OCI view of the same blobs: uncompressed layers need a manifest of their own.
            byte[] ociManifest = JsonSerializer.SerializeToUtf8Bytes(new Manifest
            {
                MediaType = MediaTypes.OciManifest,
                Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest.ToString(), Size = store.Content.SizeOf(configDigest) },
                Layers = ociLayers,
            }, ImageJson.Default.Manifest);
            var ociDigest = Digest.Of(ociManifest);
            if (written.Add(ociDigest.Hex))
            {
                Bytes(tar, "blobs/sha256/" + ociDigest.Hex, ociManifest);
            }
            foreach (var n in s.Names.Count == 0 ? [null] : s.Names.Cast<ImageReference?>())
            {
                index.Manifests.Add(new Descriptor
                {
                    MediaType = MediaTypes.OciManifest,
                    Digest = ociDigest.ToString(),
                    Size = ociManifest.Length,
                    Annotations = n is null ? null : new Dictionary<string, string>
                    {
                        ["io.containerd.image.name"] = n.ToString(),
                        ["org.opencontainers.image.ref.name"] = n.Tag ?? "latest",
                    },
                });
            }
        }
        Bytes(tar, "manifest.json", JsonSerializer.SerializeToUtf8Bytes(entries, ImageJson.Default.ListDockerArchiveEntry));
        Bytes(tar, "oci-layout", JsonSerializer.SerializeToUtf8Bytes(new OciLayoutFile(), ImageJson.Default.OciLayoutFile));
        Bytes(tar, "index.json", JsonSerializer.SerializeToUtf8Bytes(index, ImageJson.Default.ImageIndexDocument));
    }

    private static void StoredBlob(ImageStore store, TarWriter tar, Digest d, HashSet<string> written)
    {
        if (!written.Add(d.Hex))
        {
            return;
        }
        using var f = store.Content.Open(d);
        File(tar, "blobs/sha256/" + d.Hex, f);
    }

    /// <summary>A layer as a plain tar (Docker archives hold them so); decompressed to a temporary file for its length.</summary>
    private static long UncompressedBlob(ImageStore store, TarWriter tar, Digest blob, Digest diffId, HashSet<string> written)
    {
        using var raw = store.Content.Open(blob);
        var c = LayerCompression.Detect(raw);
        if (c == Compression.None)
        {
            if (written.Add(diffId.Hex))
            {
                File(tar, "blobs/sha256/" + diffId.Hex, raw);
            }
            return raw.Length;
        }
        Directory.CreateDirectory(store.Content.IngestDir);
        string tmp = Path.Combine(store.Content.IngestDir, TempNames.New(ContentStore.IngestPrefix));
        try
        {
            using var plain = LayerCompression.Decompress(raw, c);
            using var f = new FileStream(tmp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            plain.CopyTo(f, 1 << 17);
            f.Position = 0;
            if (written.Add(diffId.Hex))
            {
                File(tar, "blobs/sha256/" + diffId.Hex, f);
            }
            return f.Length;
        }
        finally
        {
            System.IO.File.Delete(tmp);
        }
    }

    private static void Bytes(TarWriter tar, string name, byte[] data) => File(tar, name, new MemoryStream(data));

    private static void File(TarWriter tar, string name, Stream data)
    {
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = (UnixFileMode)0b110_100_100,
            ModificationTime = DateTimeOffset.UnixEpoch,
            DataStream = data,
        });
    }
}
