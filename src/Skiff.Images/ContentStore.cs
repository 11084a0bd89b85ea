namespace Skiff.Images;

/// <summary>
/// Blobs by digest under blobs/sha256/HEX. A blob is written under ingest/ and renamed
/// in only once its digest checks out, so nothing half-written is ever visible there.
/// </summary>
public sealed class ContentStore(string root)
{
    public const string IngestPrefix = "i-";

    public string BlobsDir { get; } = Path.Combine(root, "blobs", "sha256");
    public string IngestDir { get; } = Path.Combine(root, "ingest");

    public string PathOf(Digest d) => Path.Combine(BlobsDir, d.Hex);

    public bool Has(Digest d) => File.Exists(PathOf(d));

    public long SizeOf(Digest d) => new FileInfo(PathOf(d)).Length;

    public FileStream Open(Digest d)
    {
        try
        {
            return new FileStream(PathOf(d), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (FileNotFoundException)
        {
            throw SkiffException.NotFound($"blob {d} is missing from the store ({PathOf(d)})");
        }
    }

    public byte[] ReadAll(Digest d, long max = 16 << 20)
    {
        using var f = Open(d);
        if (f.Length > max)
        {
            throw SkiffException.Invalid($"blob {d} is {f.Length} bytes, more than the {max} a document may have");
        }
        var data = new byte[f.Length];
        f.ReadExactly(data);
        return data;
    }

    /// <summary>Stores bytes already in memory (configs, manifests); verifies them when a digest is expected.</summary>
    public Digest Put(ReadOnlySpan<byte> data, Digest? expected = null)
    {
        var d = Digest.Of(data);
        if (expected is { } e && e != d)
        {
            throw SkiffException.Invalid($"digest mismatch: expected {e}, got {d}");
        }
        if (Has(d))
        {
            return d;
        }
        using var w = BeginWrite();
        w.Stream.Write(data);
        return w.Commit(d);
    }

    public BlobWriter BeginWrite(string? name = null)
    {
        Directory.CreateDirectory(IngestDir);
        Directory.CreateDirectory(BlobsDir);
        return new BlobWriter(this, Path.Combine(IngestDir, name ?? TempNames.New(IngestPrefix)));
    }

    public void Delete(Digest d) => File.Delete(PathOf(d));

    public IEnumerable<Digest> All()
    {
        if (!Directory.Exists(BlobsDir))
        {
            yield break;
        }
        foreach (var f in Directory.EnumerateFiles(BlobsDir))
        {
            if (Digest.TryParse(Digest.Prefix + Path.GetFileName(f), out var d))
            {
                yield return d;
            }
        }
    }

    /// <summary>Removes ingest files of processes that died (a pull killed with SIGKILL); call under the store lock.</summary>
    public void RemoveStaleIngests()
    {
        if (!Directory.Exists(IngestDir))
        {
            return;
        }
        foreach (var f in Directory.EnumerateFiles(IngestDir))
        {
            string name = Path.GetFileName(f);
            if (TempNames.IsStale(name, IngestPrefix))
            {
                File.Delete(f);
            }
        }
    }

    internal void CommitFile(string tmp, Digest d)
    {
        string final = PathOf(d);
        if (File.Exists(final))
        {
            File.Delete(tmp);
            return;
        }
        File.Move(tmp, final, overwrite: true);
        Native.SyncDirectory(BlobsDir);
    }
}

/// <summary>One blob on its way in: written and hashed in one pass, committed only when the digest matches.</summary>
public sealed class BlobWriter : IDisposable
{
    private readonly ContentStore _store;
    private readonly FileStream _file;
    private bool _done;

    internal BlobWriter(ContentStore store, string path, bool append = false)
    {
        _store = store;
        TempPath = path;
        _file = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        Stream = new HashingStream(_file, leaveOpen: true);
    }

    public string TempPath { get; }

    /// <summary>Write here: the bytes land in the ingest file and in the hash.</summary>
    public HashingStream Stream { get; }

    public long Length => Stream.Count;

    /// <summary>Checks the digest, syncs, renames into blobs/. A mismatch throws and leaves nothing behind.</summary>
    public Digest Commit(Digest? expected = null)
    {
        var d = Stream.Digest();
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        if (expected is { } e && e != d)
        {
            File.Delete(TempPath);
            _done = true;
            throw SkiffException.Invalid($"digest mismatch: expected {e}, got {d}: the blob was not stored");
        }
        _store.CommitFile(TempPath, d);
        _done = true;
        return d;
    }

    public void Dispose()
    {
        Stream.Dispose();
        _file.Dispose();
        if (!_done)
        {
            File.Delete(TempPath);
        }
    }
}

public static class ContentStoreAdoption
{
    /// <summary>
    /// Renames a file already under ingest/ (an extracted archive member) in
    /// under its digest after hashing it: no second copy. Verifies it when one is expected.
    /// </summary>
    public static Digest Adopt(this ContentStore store, string path, Digest? expected = null)
    {
        Digest d;
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        using (var h = new HashingStream(f, leaveOpen: true))
        {
            h.Drain();
            d = h.Digest();
        }
        if (expected is { } e && e != d)
        {
            throw SkiffException.Invalid($"digest mismatch: expected {e}, got {d}: the blob was not stored");
        }
        Directory.CreateDirectory(store.BlobsDir);
        if (store.Has(d))
        {
            return d;
        }
        using (var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Flush(flushToDisk: true);
        }
        File.Move(path, store.PathOf(d), overwrite: true);
        return d;
    }
}
