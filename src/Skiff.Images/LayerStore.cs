using System.Globalization;
using System.IO.Compression;

namespace Skiff.Images;

public enum Compression
{
    None,
    Gzip,
    Zstd,
}

public static class LayerCompression
{
    /// <summary>By magic number, not by media type: the bytes are what will be read.</summary>
    public static Compression Detect(ReadOnlySpan<byte> head) => head switch
    {
        [0x1f, 0x8b, ..] => Compression.Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression.Zstd,
        _ => Compression.None,
    };

    public static Compression Detect(Stream seekable)
    {
        Span<byte> head = stackalloc byte[4];
        int n = seekable.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        seekable.Seek(-n, SeekOrigin.Current);
        return Detect(head[..n]);
    }

    public static Stream Decompress(Stream raw, Compression c) => c switch
    {
        Compression.Gzip => new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true),
        Compression.Zstd => new ZstdSharp.DecompressionStream(raw, leaveOpen: true),
        _ => raw,
    };

    public static string OciMediaType(Compression c) => c switch
    {
        Compression.Gzip => MediaTypes.OciLayerGzip,
        Compression.Zstd => MediaTypes.OciLayerZstd,
        _ => MediaTypes.OciLayer,
    };
}

/// <summary>A layer unpacked once under its chain ID: what overlay stacks as a lower directory.</summary>
public sealed record LayerInfo(Digest ChainId, Digest DiffId, long Size, UnpackResult? Unpacked);

/// <summary>
/// layers/CHAIN/diff, unpacked into layers/.tmp-PID-RAND and renamed in only when the
/// whole layer is there and its diffID checked; layers/CHAIN/size holds the tar's size.
/// </summary>
public sealed class LayerStore(string root, UnpackOptions options)
{
    public const string TempPrefix = ".tmp-";

    public string Dir { get; } = Path.Combine(root, "layers");

    public string PathOf(Digest chainId) => Path.Combine(Dir, chainId.Hex);

    public string DiffOf(Digest chainId) => Path.Combine(Dir, chainId.Hex, "diff");

    public bool Has(Digest chainId) => Directory.Exists(DiffOf(chainId));

    public long SizeOf(Digest chainId)
    {
        try
        {
            return long.Parse(File.ReadAllText(Path.Combine(PathOf(chainId), "size")), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Unpacks a layer blob (gzip, zstd or plain tar) on top of parent, verifying its
    /// diffID when one is expected. A layer already present is not unpacked again.
    /// </summary>
    public LayerInfo Unpack(string blobPath, Digest? parent, Digest? expectedDiffId)
    {
        if (expectedDiffId is { } known && Has(Digest.Chain(parent, known)))
        {
            var chain = Digest.Chain(parent, known);
            return new LayerInfo(chain, known, SizeOf(chain), null);
        }
        Directory.CreateDirectory(Dir);
        string tmp = Path.Combine(Dir, TempNames.New(TempPrefix));
        string diff = Path.Combine(tmp, "diff");
        try
        {
            Directory.CreateDirectory(diff);
            UnpackResult unpacked;
            Digest diffId;
            long size;
            using (var raw = new FileStream(blobPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            {
                var c = LayerCompression.Detect(raw);
                using var plain = LayerCompression.Decompress(raw, c);
                using var hashed = new HashingStream(plain, leaveOpen: true);
                try
                {
                    unpacked = LayerUnpacker.Unpack(hashed, diff, options);
                    hashed.Drain();
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ZstdSharp.ZstdException)
                {
                    throw SkiffException.Invalid($"the layer is corrupt or truncated: {e.Message}");
                }
                diffId = hashed.Digest();
                size = hashed.Count;
            }
            if (expectedDiffId is { } e2 && e2 != diffId)
            {
                throw SkiffException.Invalid($"layer diffID mismatch: the image config says {e2}, the layer is {diffId}");
            }
            var chainId = Digest.Chain(parent, diffId);
            if (Has(chainId))
            {
                TreeRemover.Remove(tmp);
                return new LayerInfo(chainId, diffId, SizeOf(chainId), unpacked);
            }
            File.WriteAllText(Path.Combine(tmp, "size"), size.ToString(CultureInfo.InvariantCulture));
            Native.SyncFileSystem(tmp);
            try
            {
                Directory.Move(tmp, PathOf(chainId));
            }
            catch (IOException) when (Has(chainId))
            {
                // Another skiff unpacked the same layer meanwhile: theirs is as good as ours.
                TreeRemover.Remove(tmp);
                return new LayerInfo(chainId, diffId, SizeOf(chainId), null);
            }
            Native.SyncDirectory(Dir);
            return new LayerInfo(chainId, diffId, size, unpacked);
        }
        catch
        {
            TreeRemover.Remove(tmp);
            throw;
        }
    }

    public void Remove(Digest chainId)
    {
        // Renamed out first: a half-removed layer is never visible under its chain ID.
        string path = PathOf(chainId);
        if (!Directory.Exists(path))
        {
            return;
        }
        string doomed = Path.Combine(Dir, TempNames.New(TempPrefix));
        Directory.Move(path, doomed);
        TreeRemover.Remove(doomed);
    }

    public IEnumerable<Digest> All()
    {
        if (!Directory.Exists(Dir))
        {
            yield break;
        }
        foreach (var d in Directory.EnumerateDirectories(Dir))
        {
            if (Digest.TryParse(Digest.Prefix + Path.GetFileName(d), out var chain))
            {
                yield return chain;
            }
        }
    }

    /// <summary>Removes unpack directories of processes that died; call under the store lock.</summary>
    public void RemoveStaleTemps()
    {
        if (!Directory.Exists(Dir))
        {
            return;
        }
        foreach (var d in Directory.EnumerateDirectories(Dir, TempPrefix + "*"))
        {
            if (TempNames.IsStale(Path.GetFileName(d), TempPrefix))
            {
                TreeRemover.Remove(d);
            }
        }
    }
}
