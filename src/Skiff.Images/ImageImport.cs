using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;

namespace Skiff.Images;

/// <summary>
/// `skiff import`: a root filesystem (a tarball, plain or compressed, or a directory)
/// becomes a one-layer image with an OCI manifest, so it can be pushed and saved too.
/// </summary>
public static class ImageImport
{
    public static ImageRecord Import(ImageStore store, string source, IReadOnlyList<ImageReference> names,
        IReadOnlyList<string> changes, string? message, string architecture = "amd64")
    {
        var config = new ImageConfig
        {
            Architecture = architecture,
            Os = "linux",
            Created = Now(),
            Config = new ContainerConfig(),
        };
        foreach (var change in changes)
        {
            ConfigChanges.Apply(config.Config, change);
        }
        Digest blob;
        Compression compression;
        if (Directory.Exists(source))
        {
            blob = TarDirectory(store.Content, source);
            compression = Compression.Gzip;
        }
        else
        {
            (blob, compression) = CopyTarball(store.Content, source);
        }
        LayerInfo layer;
        try
        {
            layer = store.Layers.Unpack(store.Content.PathOf(blob), null, null);
        }
        catch
        {
            // Refused: the blob goes too, unless an image already used it.
            var pending = new PendingContent();
            pending.Blobs.Add(blob);
            store.Discard(pending);
            throw;
        }
        config.RootFs.DiffIds = [layer.DiffId.ToString()];
        config.History = [new HistoryEntry { Created = config.Created, CreatedBy = "skiff import " + Path.GetFileName(source), Comment = message ?? "Imported from " + source }];
        return CommitSingleLayer(store, config, blob, compression, layer, names);
    }

    public static ImageRecord CommitSingleLayer(ImageStore store, ImageConfig config, Digest blob, Compression compression,
        LayerInfo layer, IReadOnlyList<ImageReference> names)
    {
        byte[] configBytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(config, ImageJson.Default.ImageConfig);
        var configDigest = store.Content.Put(configBytes);
        var manifest = new Manifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest.ToString(), Size = configBytes.Length },
            Layers = [new Descriptor { MediaType = LayerCompression.OciMediaType(compression), Digest = blob.ToString(), Size = store.Content.SizeOf(blob) }],
        };
        byte[] manifestBytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, ImageJson.Default.Manifest);
        var manifestDigest = store.Content.Put(manifestBytes);
        return store.Commit(manifestDigest, MediaTypes.OciManifest, configDigest, config, [layer], names);
    }

    public static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static (Digest, Compression) CopyTarball(ContentStore content, string source)
    {
        FileStream input;
        try
        {
            input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw SkiffException.NotFound($"import {source}: no such file or directory");
        }
        catch (UnauthorizedAccessException)
        {
            throw SkiffException.Invalid($"import {source}: permission denied");
        }
        using (input)
        {
            var c = input.CanSeek ? LayerCompression.Detect(input) : Compression.None;
            using var w = content.BeginWrite();
            input.CopyTo(w.Stream, 1 << 17);
            return (w.Commit(), c);
        }
    }

    /// <summary>The directory as a gzip'd tar (owners, modes, times and symlinks as they are), straight into the ingest area.</summary>
    private static Digest TarDirectory(ContentStore content, string dir)
    {
        using var w = content.BeginWrite();
        using (var gz = new GZipStream(w.Stream, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            WriteTree(tar, dir, "");
        }
        return w.Commit();
    }

    private static void WriteTree(TarWriter tar, string dir, string prefix)
    {
        var entries = Directory.GetFileSystemEntries(dir);
        Array.Sort(entries, StringComparer.Ordinal);
        foreach (var path in entries)
        {
            string name = prefix + Path.GetFileName(path);
            uint type = Native.LstatMode(path) & Native.S_IFMT;
            if (type == 0xC000 /* socket */)
            {
                continue;
            }
            tar.WriteEntry(path, type == Native.S_IFDIR ? name + "/" : name);
            if (type == Native.S_IFDIR)
            {
                WriteTree(tar, path, name + "/");
            }
        }
    }
}
