namespace Skiff.Images;

/// <summary>
/// The store under one root: blobs (ContentStore), unpacked layers (LayerStore) and the
/// image index with a launch record per image. Writers hold the store lock; readers read
/// files that are only ever replaced whole by rename.
/// </summary>
public sealed class ImageStore
{
    public ImageStore(string root, UnpackOptions options)
    {
        Root = root;
        Content = new ContentStore(root);
        Layers = new LayerStore(root, options);
        Options = options;
    }

    public string Root { get; }
    public ContentStore Content { get; }
    public LayerStore Layers { get; }
    public UnpackOptions Options { get; }

    private string ImagesDir => Path.Combine(Root, "images");
    /// <summary>Where run keeps its container directories (SkiffPaths.Containers).</summary>
    public string ContainersDir => Path.Combine(Root, "containers");
    private string IndexPath => Path.Combine(ImagesDir, "index.json");
    private string LaunchPath(Digest id) => Path.Combine(ImagesDir, "launch", id.Hex + ".json");

    /// <summary>The store lock; taking it also sweeps what killed processes left half done.</summary>
    public StoreLock Lock()
    {
        var l = StoreLock.Acquire(Path.Combine(Root, "store.lock"));
        Content.RemoveStaleIngests();
        Layers.RemoveStaleTemps();
        return l;
    }

    public ImageIndexFile ReadIndex()
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(IndexPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new ImageIndexFile();
        }
        return ImageRecordJson.ReadIndex(data, $"the image index {IndexPath}");
    }

    private void WriteIndex(ImageIndexFile index)
    {
        Directory.CreateDirectory(ImagesDir);
        AtomicFile.WriteJson(IndexPath, index, ImageJson.Default.ImageIndexFile);
    }

    /// <summary>An image by name[:tag], name@digest, full ID, sha256:ID or a unique ID prefix.</summary>
    public static ImageRecord? Find(ImageIndexFile index, string reference)
    {
        string hex = reference.StartsWith(Digest.Prefix, StringComparison.Ordinal) ? reference[Digest.Prefix.Length..] : reference;
        if (hex.Length is >= 1 and <= 64 && hex.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            var byId = index.Images.Where(i => i.Id.AsSpan(Digest.Prefix.Length).StartsWith(hex, StringComparison.Ordinal)).ToList();
            if (byId.Count == 1 && (hex.Length == 64 || reference.Length < 64))
            {
                // A bare hex word may also be a repository name ("abc"): a name match wins, as in Docker.
                var named = FindByName(index, reference);
                return named ?? byId[0];
            }
            if (byId.Count > 1)
            {
                throw SkiffException.Invalid($"image ID prefix \"{reference}\" is ambiguous: {byId.Count} images match");
            }
        }
        return FindByName(index, reference);
    }

    private static ImageRecord? FindByName(ImageIndexFile index, string reference)
    {
        if (!ImageReference.TryParse(reference, out var r))
        {
            return null;
        }
        if (r.Digest is { } d)
        {
            string key = r.Name + "@" + d;
            return index.Images.FirstOrDefault(i => i.RepoDigests.Contains(key) || i.Manifest == d.ToString() && i.Names.Any(n => n.StartsWith(r.Name + ":", StringComparison.Ordinal)));
        }
        string name = r.ToString();
        return index.Images.FirstOrDefault(i => i.Names.Contains(name));
    }

    public ImageRecord Resolve(string reference) =>
        Find(ReadIndex(), reference) ?? throw SkiffException.NotFound($"no such image: {reference}");

    public LaunchRecord ReadLaunch(ImageRecord image)
    {
        var id = Digest.Parse(image.Id, "image");
        try
        {
            return ImageRecordJson.ReadLaunch(File.ReadAllBytes(LaunchPath(id)), $"the launch record of {id.Short}");
        }
        catch (FileNotFoundException)
        {
            throw SkiffException.NotFound($"image {id.Short} has no launch record: the store is damaged (remove the image and pull or load it again)");
        }
    }

    /// <summary>The image's init layer (made on first use), or null when the image needs none: see InitLayer.</summary>
    public string? InitLayerOf(ImageRecord image, LaunchRecord launch) =>
        InitLayer.Ensure(InitDir, Digest.Parse(image.Id, "image").Hex, launch.Layers);

    private string InitDir => Path.Combine(ImagesDir, "init");

    public ImageConfig ReadConfig(ImageRecord image) =>
        SpecJson.Parse(Content.ReadAll(Digest.Parse(image.Id, "image")), ImageJson.Default.ImageConfig, $"the config of image {image.Id}");

    public Manifest ReadManifest(ImageRecord image) =>
        SpecJson.Parse(Content.ReadAll(Digest.Parse(image.Manifest, "manifest")), ImageJson.Default.Manifest, $"the manifest of image {image.Id}");

    /// <summary>
    /// Records an image whose blobs and layers are all in the store: its launch record,
    /// then the index (under the lock). A name another image had moves to this one.
    /// </summary>
    public ImageRecord Commit(Digest manifest, string manifestMediaType, Digest configDigest, ImageConfig config,
        IReadOnlyList<LayerInfo> layers, IEnumerable<ImageReference> names, string? repoDigest = null)
    {
        var launch = new LaunchRecord
        {
            Layers = layers.Reverse().Select(l => Layers.DiffOf(l.ChainId)).ToList(),
            Env = config.Config?.Env,
            Entrypoint = config.Config?.Entrypoint,
            Cmd = config.Config?.Cmd,
            WorkingDir = string.IsNullOrEmpty(config.Config?.WorkingDir) ? null : config.Config.WorkingDir,
            User = string.IsNullOrEmpty(config.Config?.User) ? null : config.Config.User,
        };
        using var l = Lock();
        Directory.CreateDirectory(Path.Combine(ImagesDir, "launch"));
        AtomicFile.WriteJson(LaunchPath(configDigest), launch, ImageJson.Default.LaunchRecord);
        var index = ReadIndex();
        var record = index.Images.FirstOrDefault(i => i.Id == configDigest.ToString());
        if (record is null)
        {
            record = new ImageRecord { Id = configDigest.ToString(), Added = DateTimeOffset.UtcNow };
            index.Images.Add(record);
        }
        record.Manifest = manifest.ToString();
        record.ManifestMediaType = manifestMediaType;
        record.Layers = layers.Select(x => x.ChainId.ToString()).ToList();
        record.Created = config.Created;
        record.Size = layers.Sum(x => x.Size);
        if (repoDigest is not null && !record.RepoDigests.Contains(repoDigest))
        {
            record.RepoDigests.Add(repoDigest);
        }
        foreach (var n in names)
        {
            AddName(index, record, n.ToString());
        }
        WriteIndex(index);
        return record;
    }

    private static void AddName(ImageIndexFile index, ImageRecord record, string name)
    {
        foreach (var other in index.Images)
        {
            if (other != record)
            {
                other.Names.Remove(name);
            }
        }
        if (!record.Names.Contains(name))
        {
            record.Names.Add(name);
        }
    }

    public void Tag(string source, ImageReference target)
    {
        if (target.Digest is not null)
        {
            throw SkiffException.Invalid($"refusing to create a tag with a digest reference: {target.Familiar}");
        }
        using var l = Lock();
        var index = ReadIndex();
        var image = Find(index, source) ?? throw SkiffException.NotFound($"no such image: {source}");
        AddName(index, image, target.ToString());
        WriteIndex(index);
    }

    /// <summary>
    /// rmi as Docker does it: a name only untags while the image keeps other names; the
    /// image goes when its last name does (or by ID, with -f when it has several names).
    /// Layers and blobs nothing else uses go with it. Returns Docker's lines.
    /// </summary>
    public List<string> Remove(string reference, bool force)
    {
        var lines = new List<string>();
        using var l = Lock();
        var index = ReadIndex();
        var image = Find(index, reference) ?? throw SkiffException.NotFound($"no such image: {reference}");
        bool byName = ImageReference.TryParse(reference, out var r) && image.Names.Contains(r.ToString());
        if (byName && image.Names.Count > 1)
        {
            image.Names.Remove(r.ToString());
            lines.Add("Untagged: " + r.Familiar);
            WriteIndex(index);
            return lines;
        }
        var users = ContainerUsage.UsersOf(ContainersDir, image.Id);
        if (users.Count > 0)
        {
            string shortId = Digest.Parse(image.Id, "image").Short;
            string user = users[0][..Math.Min(12, users[0].Length)];
            if (!force)
            {
                throw new SkiffException(ErrorCategory.Conflict, byName
                    ? $"conflict: unable to remove repository reference \"{reference}\" (must force) - container {user} is using its referenced image {shortId}"
                    : $"conflict: unable to delete {shortId} (must be forced) - image is being used by running container {user}");
            }
            // Forced: the names go, the image stays (dangling) for as long as a container runs on its layers.
            foreach (var n in image.Names)
            {
                lines.Add("Untagged: " + (ImageReference.TryParse(n, out var nr) ? nr.Familiar : n));
            }
            image.Names.Clear();
            WriteIndex(index);
            return lines;
        }
        if (!byName && image.Names.Count > 1 && !force)
        {
            throw new SkiffException(ErrorCategory.Conflict,
                $"conflict: unable to delete {Digest.Parse(image.Id, "image").Short} (must be forced) - image is referenced in multiple repositories");
        }
        foreach (var n in image.Names)
        {
            lines.Add("Untagged: " + (ImageReference.TryParse(n, out var nr) ? nr.Familiar : n));
        }
        foreach (var rd in image.RepoDigests)
        {
            lines.Add("Untagged: " + ImageReference.FamiliarName(rd));
        }
        index.Images.Remove(image);
        WriteIndex(index);
        File.Delete(LaunchPath(Digest.Parse(image.Id, "image")));
        InitLayer.Remove(InitDir, Digest.Parse(image.Id, "image").Hex);
        lines.Add("Deleted: " + image.Id);
        CollectGarbage(index);
        return lines;
    }

    /// <summary>
    /// image prune: dangling images (no names), or with all every image no container
    /// uses, go with the layers and blobs only they used. Returns Docker's lines and the
    /// bytes reclaimed.
    /// </summary>
    public (List<string> Lines, long Reclaimed) Prune(bool all)
    {
        var lines = new List<string>();
        using var l = Lock();
        var index = ReadIndex();
        var used = new HashSet<string>(ContainerUsage.All(ContainersDir).Select(u => u.Image));
        var victims = index.Images.Where(i => !used.Contains(i.Id) && (all || i.Names.Count == 0)).ToList();
        if (victims.Count == 0)
        {
            return (lines, 0);
        }
        foreach (var image in victims)
        {
            foreach (var n in image.Names)
            {
                lines.Add("untagged: " + (ImageReference.TryParse(n, out var nr) ? nr.Familiar : n));
            }
            foreach (var rd in image.RepoDigests)
            {
                lines.Add("untagged: " + ImageReference.FamiliarName(rd));
            }
            lines.Add("deleted: " + image.Id);
            index.Images.Remove(image);
        }
        WriteIndex(index);
        foreach (var image in victims)
        {
            File.Delete(LaunchPath(Digest.Parse(image.Id, "image")));
            InitLayer.Remove(InitDir, Digest.Parse(image.Id, "image").Hex);
        }
        return (lines, CollectGarbage(index));
    }

    /// <summary>
    /// Docker's history rows, newest first: one per history entry of the config, an
    /// empty_layer entry with size 0, the others with the size of their layer. Only the
    /// newest row carries the image ID; the others are "&lt;missing&gt;".
    /// </summary>
    public List<HistoryRow> History(ImageRecord image)
    {
        var config = ReadConfig(image);
        var rows = new List<HistoryRow>();
        var entries = config.History is { Count: > 0 } h
            ? h
            : image.Layers.Select(_ => new HistoryEntry { Created = config.Created }).ToList();
        int layer = 0;
        foreach (var e in entries)
        {
            long size = 0;
            if (e.EmptyLayer != true)
            {
                if (layer < image.Layers.Count)
                {
                    size = Layers.SizeOf(Digest.Parse(image.Layers[layer], "layer"));
                }
                layer++;
            }
            rows.Add(new HistoryRow("<missing>", e.Created, e.CreatedBy ?? "", size, e.Comment ?? ""));
        }
        rows.Reverse();
        if (rows.Count > 0)
        {
            rows[0] = rows[0] with { Id = image.Id };
        }
        return rows;
    }

    /// <summary>
    /// Undoes what a refused load, import or pull added: the blobs and layers it stored
    /// that no image refers to go, so the store is as it was before.
    /// </summary>
    public void Discard(PendingContent pending)
    {
        if (pending.Blobs.Count == 0 && pending.Layers.Count == 0)
        {
            return;
        }
        using var l = Lock();
        var index = ReadIndex();
        var liveLayers = new HashSet<string>(index.Images.SelectMany(i => i.Layers));
        var liveBlobs = LiveBlobs(index);
        foreach (var chain in pending.Layers)
        {
            if (!liveLayers.Contains(chain.ToString()))
            {
                Layers.Remove(chain);
            }
        }
        foreach (var blob in pending.Blobs)
        {
            if (liveBlobs is not null && !liveBlobs.Contains(blob.ToString()))
            {
                Content.Delete(blob);
            }
        }
    }

    private HashSet<string>? LiveBlobs(ImageIndexFile index)
    {
        var live = new HashSet<string>();
        foreach (var image in index.Images)
        {
            live.Add(image.Id);
            live.Add(image.Manifest);
            try
            {
                foreach (var layer in ReadManifest(image).Layers)
                {
                    live.Add(layer.Digest);
                }
            }
            catch (SkiffException)
            {
                // A damaged image keeps what it may still need.
                return null;
            }
        }
        return live;
    }

    /// <summary>Removes layers and blobs no image in the index refers to. Call under the lock.</summary>
    /// <returns>The bytes reclaimed: unpacked layer sizes plus blob sizes.</returns>
    public long CollectGarbage(ImageIndexFile index)
    {
        var liveLayers = new HashSet<string>(index.Images.SelectMany(i => i.Layers));
        var liveBlobs = LiveBlobs(index);
        if (liveBlobs is null)
        {
            return 0;
        }
        long reclaimed = 0;
        foreach (var chain in Layers.All().ToList())
        {
            if (!liveLayers.Contains(chain.ToString()))
            {
                reclaimed += Layers.SizeOf(chain);
                Layers.Remove(chain);
            }
        }
        foreach (var blob in Content.All().ToList())
        {
            if (!liveBlobs.Contains(blob.ToString()))
            {
                try
                {
                    reclaimed += Content.SizeOf(blob);
                }
                catch (FileNotFoundException)
                {
                }
                Content.Delete(blob);
            }
        }
        return reclaimed;
    }
}

/// <summary>One row of `history`: Id is the image ID on the newest row, "&lt;missing&gt;" below it.</summary>
public sealed record HistoryRow(string Id, string? Created, string CreatedBy, long Size, string Comment);

/// <summary>What one load, import or pull has added so far: discarded if it fails.</summary>
public sealed class PendingContent
{
    public List<Digest> Blobs { get; } = [];
    public List<Digest> Layers { get; } = [];

    public void Layer(LayerInfo layer)
    {
        if (layer.Unpacked is not null)
        {
            Layers.Add(layer.ChainId);
        }
    }
}
