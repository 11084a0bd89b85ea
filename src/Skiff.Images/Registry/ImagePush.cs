namespace Skiff.Images.Registry;

/// <summary>
/// skiff push: the layers and config of a stored image (each skipped when the registry
/// has it already), then its manifest, byte for byte as stored, so the digest a pull
/// sees is the one the store holds.
/// </summary>
public sealed class ImagePush(ImageStore store, RegistryClient client, ITransferProgress progress)
{
    public async Task<Digest> PushAsync(ImageRecord image, ImageReference target, CancellationToken ct)
    {
        string repo = target.Repository;
        var manifestDigest = Digest.Parse(image.Manifest, "manifest");
        byte[] manifestBytes = store.Content.ReadAll(manifestDigest);
        var manifest = SpecJson.Parse(manifestBytes, ImageJson.Default.Manifest, $"the manifest of image {image.Id}");
        progress.Message($"The push refers to repository [{target.Name}]");
        var blobs = manifest.Layers.Select(l => (Digest.Parse(l.Digest, "layer"), l.Size)).ToList();
        blobs.Add((Digest.Parse(manifest.Config.Digest, "config"), manifest.Config.Size));
        foreach (var (blob, size) in blobs)
        {
            if (!store.Content.Has(blob))
            {
                throw SkiffException.NotFound($"blob {blob} of image {image.Id} is not in the store: pull or load the image again");
            }
            if (await client.BlobExistsAsync(repo, blob, ct))
            {
                progress.Layer(blob, "Layer already exists", size, size);
                continue;
            }
            progress.Layer(blob, "Pushing", 0, size);
            await client.UploadBlobAsync(repo, blob, store.Content.PathOf(blob), ct, done => progress.Layer(blob, "Pushing", done, size));
            progress.Layer(blob, "Pushed", size, size);
        }
        string tag = target.Tag ?? "latest";
        var digest = await client.PutManifestAsync(repo, tag, manifestBytes, SpecJson.MediaTypeOf(manifestBytes) ?? image.ManifestMediaType, ct);
        progress.Message($"{tag}: digest: {digest} size: {manifestBytes.Length}");
        return digest;
    }
}
