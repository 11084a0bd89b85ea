namespace Skiff.Images.Registry;

/// <summary>What a pull or push reports as it goes; the CLI draws lines or progress bars from it.</summary>
public interface ITransferProgress
{
    void Message(string line);

    /// <summary>A layer's state changed ("Waiting", "Downloading", "Download complete", "Pull complete", "Already exists").</summary>
    void Layer(Digest blob, string state, long done, long total);
}

/// <summary>
/// skiff pull: manifest (through an index by platform), config and layers from a
/// registry into the same store import and load use. Layers download in parallel into
/// ingest/, each committed only once its digest checks out, and unpack in order as they
/// arrive. A failure discards everything this pull added: the store is as it was.
/// </summary>
public sealed class ImagePull(ImageStore store, RegistryClient client, ITransferProgress progress)
{
    public int Parallelism { get; init; } = 3;

    /// <summary>After a pull: the store had this manifest already, nothing was fetched but documents.</summary>
    public bool UpToDate { get; private set; }

    /// <summary>Docker's closing line of a pull: whether anything new came.</summary>
    public string Status(ImageReference reference) =>
        UpToDate ? $"Status: Image is up to date for {reference.Familiar}" : $"Status: Downloaded newer image for {reference.Familiar}";

    public async Task<ImageRecord> PullAsync(ImageReference reference, string platform, CancellationToken ct)
    {
        string repo = reference.Repository;
        string refText = RegistryEndpoint.ReferenceOf(reference);
        string shown = reference.Familiar;
        var top = await client.GetManifestAsync(repo, refText, ct)
                  ?? throw SkiffException.NotFound($"manifest for {shown} not found: manifest unknown");
        var topDigest = Digest.Of(top.Bytes);
        if (reference.Digest is { } wanted && wanted != topDigest)
        {
            throw SkiffException.Invalid($"digest mismatch: {reference.Name} served {topDigest} for {wanted}");
        }
        progress.Message($"{reference.Tag ?? topDigest.ToString()}: Pulling from {ImageReference.FamiliarName(reference.Name)}");
        var (manifestBytes, mediaType) = top;
        var manifestDigest = topDigest;
        if (MediaTypes.IsIndex(mediaType))
        {
            var index = SpecJson.Parse(manifestBytes, ImageJson.Default.ImageIndexDocument, $"the image index of {shown}");
            var chosen = PlatformChoice.Choose(index, platform);
            manifestDigest = Digest.Parse(chosen.Digest, "manifest");
            var m = await client.GetManifestAsync(repo, manifestDigest.ToString(), ct)
                    ?? throw SkiffException.NotFound($"manifest {manifestDigest} for {platform} of {shown} not found");
            if (Digest.Of(m.Bytes) != manifestDigest)
            {
                throw SkiffException.Invalid($"digest mismatch: {reference.Name} served other bytes for manifest {manifestDigest}");
            }
            (manifestBytes, mediaType) = m;
        }
        if (!MediaTypes.IsManifest(mediaType))
        {
            throw SkiffException.Invalid($"unsupported manifest type \"{mediaType}\" for {shown}: skiff reads OCI and Docker schema 2 manifests");
        }
        var manifest = SpecJson.Parse(manifestBytes, ImageJson.Default.Manifest, $"the manifest of {shown}");
        var configDigest = Digest.Parse(manifest.Config.Digest, "config");
        var blobs = manifest.Layers.Select(l => Digest.Parse(l.Digest, "layer")).ToList();

        var pending = new PendingContent();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var downloads = new List<Task>();
        try
        {
            byte[] configBytes = store.Content.Has(configDigest)
                ? store.Content.ReadAll(configDigest)
                : await client.GetSmallBlobAsync(repo, configDigest, ct);
            var config = SpecJson.Parse(configBytes, ImageJson.Default.ImageConfig, $"the config of {shown}");
            if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
            {
                throw SkiffException.Invalid($"the config of {shown} lists {config.RootFs.DiffIds.Count} layers, its manifest {manifest.Layers.Count}");
            }
            var gate = new SemaphoreSlim(Parallelism);
            for (int i = 0; i < blobs.Count; i++)
            {
                var blob = blobs[i];
                long size = manifest.Layers[i].Size;
                if (!MediaTypes.IsLayer(manifest.Layers[i].MediaType))
                {
                    throw SkiffException.Invalid($"layer {blob.Short} of {shown} has media type \"{manifest.Layers[i].MediaType}\", not a layer skiff can unpack");
                }
                if (store.Content.Has(blob) || LayerPresent(config, i))
                {
                    progress.Layer(blob, "Already exists", size, size);
                    downloads.Add(Task.CompletedTask);
                    continue;
                }
                progress.Layer(blob, "Waiting", 0, size);
                downloads.Add(Download(repo, blob, size, gate, pending, cts.Token));
            }
            var layers = new List<LayerInfo>();
            Digest? parent = null;
            for (int i = 0; i < blobs.Count; i++)
            {
                await downloads[i];
                var diffId = Digest.Parse(config.RootFs.DiffIds[i], "layer diffID");
                var layer = store.Layers.Has(Digest.Chain(parent, diffId))
                    ? store.Layers.Unpack("", parent, diffId)
                    : store.Layers.Unpack(store.Content.PathOf(blobs[i]), parent, diffId);
                pending.Layer(layer);
                layers.Add(layer);
                parent = layer.ChainId;
                if (layer.Unpacked is not null)
                {
                    progress.Layer(blobs[i], "Pull complete", manifest.Layers[i].Size, manifest.Layers[i].Size);
                }
            }
            if (!store.Content.Has(configDigest))
            {
                store.Content.Put(configBytes, configDigest);
                pending.Blobs.Add(configDigest);
            }
            UpToDate = store.Content.Has(manifestDigest) && downloads.All(t => t == Task.CompletedTask);
            if (!store.Content.Has(manifestDigest))
            {
                store.Content.Put(manifestBytes, manifestDigest);
                pending.Blobs.Add(manifestDigest);
            }
            var names = reference.Tag is null ? new List<ImageReference>() : [reference with { Digest = null }];
            var record = store.Commit(manifestDigest, mediaType, configDigest, config, layers, names, reference.Name + "@" + topDigest);
            progress.Message("Digest: " + topDigest);
            return record;
        }
        catch
        {
            await cts.CancelAsync();
            try
            {
                await Task.WhenAll(downloads);
            }
            catch (Exception)
            {
                // The first failure is the one to report.
            }
            store.Discard(pending);
            throw;
        }
    }

    /// <summary>The unpacked layer is there already (its blob may have been pruned): no need to fetch it.</summary>
    private bool LayerPresent(ImageConfig config, int index)
    {
        Digest? parent = null;
        for (int i = 0; i <= index; i++)
        {
            if (!Digest.TryParse(config.RootFs.DiffIds[i], out var diff))
            {
                return false;
            }
            parent = Digest.Chain(parent, diff);
        }
        return store.Layers.Has(parent!.Value);
    }

    private async Task Download(string repo, Digest blob, long size, SemaphoreSlim gate, PendingContent pending, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            await Task.Yield();
            progress.Layer(blob, "Downloading", 0, size);
            await client.DownloadBlobAsync(repo, blob, size, store.Content,
                done => progress.Layer(blob, "Downloading", done, size), ct);
            lock (pending)
            {
                pending.Blobs.Add(blob);
            }
            progress.Layer(blob, "Download complete", size, size);
        }
        finally
        {
            gate.Release();
        }
    }
}
